# Bedrock Converse through boto3 over HTTPS, configured as a user would: endpoint, region and credentials, with the
# site CA trusted through AWS_CA_BUNDLE (set by the caller). Prints one JSON document for the Java test to check.
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
question = [{"role": "user", "content": [{"text": "Hello over TLS"}]}]
config = {"maxTokens": 8, "temperature": 0}

whole = client.converse(modelId=model, messages=question, inferenceConfig=config)
text, stop = "", None
for event in client.converse_stream(modelId=model, messages=question, inferenceConfig=config)["stream"]:
    if "contentBlockDelta" in event:
        text += event["contentBlockDelta"]["delta"].get("text", "")
    if "messageStop" in event:
        stop = event["messageStop"]["stopReason"]
print(json.dumps({"answer": whole["output"]["message"]["content"][0]["text"], "stopReason": whole["stopReason"],
                  "streamed": text, "streamedStop": stop}))
