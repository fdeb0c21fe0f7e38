# boto3's bedrock client against a running factory, configured as a user would (credentials from the environment,
# an endpoint and a region): creates a model customization job from a file under the import root, reads it back,
# lists it, stops it and waits until it has stopped, and collects the typed errors of a wrong customization type and
# an unknown job. Prints one JSON document of what came back, for the Java test to check.
import json
import os
import time

import boto3
from botocore.exceptions import ClientError

control = boto3.client("bedrock", endpoint_url=os.environ["FACTORY_ENDPOINT"], region_name="us-east-1")
request = dict(jobName="boto3-job", customModelName="boto3-model",
               roleArn="arn:aws:iam::000000000000:role/ignored",
               baseModelIdentifier=os.environ["FACTORY_BASE_MODEL"],
               trainingDataConfig={"s3Uri": os.environ["FACTORY_TRAINING_URI"]},
               outputDataConfig={"s3Uri": os.environ["FACTORY_OUTPUT_URI"]},
               hyperParameters={"epochCount": "1000", "learningRate": "0.02", "contextLength": "256"})
out = {}
job_arn = control.create_model_customization_job(**request)["jobArn"]
out["jobArn"] = job_arn
job = control.get_model_customization_job(jobIdentifier=job_arn)
out["get"] = {"jobName": job["jobName"], "status": job["status"], "hyperParameters": job["hyperParameters"]}
summaries = control.list_model_customization_jobs(nameContains="boto3")["modelCustomizationJobSummaries"]
out["listed"] = [s["jobArn"] for s in summaries]
control.stop_model_customization_job(jobIdentifier=job_arn)
deadline = time.monotonic() + 120
while True:
    status = control.get_model_customization_job(jobIdentifier="boto3-job")["status"]
    if status not in ("InProgress", "Stopping") or time.monotonic() > deadline:
        break
    time.sleep(0.2)
out["stopped"] = {"status": status}


def error(call):
    try:
        call()
        return {"code": None}
    except ClientError as e:
        return {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "message": e.response["Error"]["Message"]}


out["errors"] = {
    "badType": error(lambda: control.create_model_customization_job(
        **dict(request, jobName="boto3-other", customizationType="DISTILLATION"))),
    "missing": error(lambda: control.get_model_customization_job(jobIdentifier="no-such-job")),
}
print(json.dumps(out))
