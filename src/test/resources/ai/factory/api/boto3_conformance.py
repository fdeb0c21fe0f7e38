# boto3's bedrock-runtime and bedrock clients against a running factory, configured as a user would: credentials
# from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), an endpoint and a region, nothing else (so they
# retry as they do by default). Lists foundation models, converses whole and streamed, invokes with Meta Llama's body
# whole and streamed, and collects the typed errors: a wrong secret, an unknown model, an invalid parameter and a
# full queue. Prints one JSON document of what came back, for the Java test to check.
import json
import os
import sys

import boto3
import botocore
from botocore.exceptions import ClientError

endpoint = os.environ["FACTORY_ENDPOINT"]
model = os.environ["FACTORY_MODEL"]
busy_model = os.environ["FACTORY_BUSY_MODEL"]
runtime = boto3.client("bedrock-runtime", endpoint_url=endpoint, region_name="us-east-1")
control = boto3.client("bedrock", endpoint_url=endpoint, region_name="us-east-1")
out = {"versions": {"boto3": boto3.__version__, "botocore": botocore.__version__}}

out["models"] = [m["modelId"] for m in control.list_foundation_models()["modelSummaries"]]

messages = [{"role": "user", "content": [{"text": "Tell me about the sea."}]}]
config = {"maxTokens": 12, "temperature": 0}
whole = runtime.converse(modelId=model, messages=messages, inferenceConfig=config)
out["converse"] = {"text": "".join(b.get("text", "") for b in whole["output"]["message"]["content"]),
                   "role": whole["output"]["message"]["role"], "stopReason": whole["stopReason"],
                   "outputTokens": whole["usage"]["outputTokens"]}

streamed = {"text": "", "events": [], "stopReason": None, "outputTokens": None}
for event in runtime.converse_stream(modelId=model, messages=messages, inferenceConfig=config)["stream"]:
    streamed["events"].append(next(iter(event)))
    if "contentBlockDelta" in event:
        streamed["text"] += event["contentBlockDelta"]["delta"].get("text", "")
    elif "messageStop" in event:
        streamed["stopReason"] = event["messageStop"]["stopReason"]
    elif "metadata" in event:
        streamed["outputTokens"] = event["metadata"]["usage"]["outputTokens"]
out["converseStream"] = streamed

llama = json.dumps({"prompt": "The sea is", "max_gen_len": 12, "temperature": 0})
invoked = runtime.invoke_model(modelId=model, body=llama, contentType="application/json", accept="application/json")
body = json.loads(invoked["body"].read())
out["invoke"] = {"generation": body["generation"], "stopReason": body["stop_reason"],
                 "generationTokenCount": body["generation_token_count"], "contentType": invoked["contentType"]}

pieces = {"generation": "", "chunks": 0, "stopReason": None}
for event in runtime.invoke_model_with_response_stream(modelId=model, body=llama)["body"]:
    chunk = json.loads(event["chunk"]["bytes"])
    pieces["chunks"] += 1
    pieces["generation"] += chunk.get("generation") or ""
    pieces["stopReason"] = chunk.get("stop_reason") or pieces["stopReason"]
out["invokeStream"] = pieces


def failure(call):
    try:
        call()
        return {"code": None}
    except ClientError as e:
        return {"code": e.response["Error"]["Code"], "exception": type(e).__name__,
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "retries": e.response["ResponseMetadata"].get("RetryAttempts"), "message": e.response["Error"]["Message"]}


wrong_secret = boto3.client("bedrock-runtime", endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong")
unknown_key = boto3.client("bedrock-runtime", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="AKIAUNKNOWNUNKNOWN00",
                           aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
out["errors"] = {
    "wrongSecret": failure(lambda: wrong_secret.converse(modelId=model, messages=messages, inferenceConfig=config)),
    "unknownAccessKey": failure(lambda: unknown_key.converse(modelId=model, messages=messages, inferenceConfig=config)),
    "unknownModel": failure(lambda: runtime.converse(modelId="acme/none", messages=messages, inferenceConfig=config)),
    "unknownModelControl": failure(lambda: control.get_foundation_model(modelIdentifier="acme/none")),
    # botocore checks minimums itself (maxTokens 0 never leaves the client); it leaves maximums to the service.
    "hotTemperature": failure(lambda: runtime.converse(modelId=model, messages=messages,
                                                       inferenceConfig={"maxTokens": 4, "temperature": 5})),
    "zeroMaxGenLen": failure(lambda: runtime.invoke_model(modelId=model, body=json.dumps({"prompt": "x", "max_gen_len": 0}))),
}

# The busy model has one slot and room for one waiting request. One generation that never ends on its own (OpenAI's
# chat body through InvokeModel, with ignore_eos) takes the slot, a second waits; every attempt at a third, the
# client's retries included, finds the queue full.
endless = json.dumps({"messages": [{"role": "user", "content": "x"}], "max_tokens": 100000, "ignore_eos": True})
holders = [runtime.invoke_model_with_response_stream(modelId=busy_model, body=endless)["body"]]
for event in holders[0]:
    if json.loads(event["chunk"]["bytes"])["choices"][0]["delta"].get("content"):
        break
holders.append(runtime.invoke_model_with_response_stream(modelId=busy_model, body=endless)["body"])
out["errors"]["throttled"] = failure(lambda: runtime.converse(modelId=busy_model, messages=messages,
                                                              inferenceConfig={"maxTokens": 2}))
for holder in holders:
    holder.close()

json.dump(out, sys.stdout)
