# Bedrock InvokeModel with Amazon Titan Text Embeddings V2's body through boto3, configured as a user would: endpoint,
# region and credentials only. Prints one JSON document of what came back, for the Java test to check.
import json
import os

import boto3

client = boto3.client(
    "bedrock-runtime",
    endpoint_url=os.environ["FACTORY_ENDPOINT"],
    region_name="us-east-1",
    aws_access_key_id=os.environ["FACTORY_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["FACTORY_SECRET_ACCESS_KEY"],
)
model = os.environ["FACTORY_MODEL"]

response = client.invoke_model(
    modelId=model,
    body=json.dumps({"inputText": "Embeddings turn text into vectors.", "normalize": True}),
    contentType="application/json",
    accept="application/json",
)
answer = json.loads(response["body"].read())

try:
    client.invoke_model(modelId=model, body=json.dumps({"inputText": "Embeddings turn text into vectors.",
                                                        "dimensions": 1024}))
    validation_error = None
except client.exceptions.ValidationException as e:
    validation_error = e.response["Error"]["Message"]

print(json.dumps({"embedding": answer["embedding"], "inputTextTokenCount": answer["inputTextTokenCount"],
                  "validationError": validation_error}))
