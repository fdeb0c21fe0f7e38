# Bedrock Converse with tools through boto3, configured as a user would: endpoint, region and credentials only.
# Prints one JSON document of what came back, for the Java test to check.
import json
import os
import sys

import boto3

client = boto3.client(
    "bedrock-runtime",
    endpoint_url=os.environ["FACTORY_ENDPOINT"],
    region_name="us-east-1",
    aws_access_key_id=os.environ["FACTORY_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["FACTORY_SECRET_ACCESS_KEY"],
)
model = os.environ["FACTORY_MODEL"]
tool = {"toolSpec": {"name": "get_weather", "description": "The weather in a city", "inputSchema": {"json": {
    "type": "object", "properties": {"city": {"enum": ["Oslo", "Lima"]}}, "required": ["city"]}}}}
question = {"role": "user", "content": [{"text": "Weather in Lima?"}]}
config = {"maxTokens": 96, "temperature": 0}

first = client.converse(modelId=model, messages=[question], inferenceConfig=config,
                        toolConfig={"tools": [tool], "toolChoice": {"any": {}}})
use = next(block["toolUse"] for block in first["output"]["message"]["content"] if "toolUse" in block)

streamed = {"input": "", "name": None, "stop": None}
response = client.converse_stream(modelId=model, messages=[question], inferenceConfig=config,
                                  toolConfig={"tools": [tool], "toolChoice": {"any": {}}})
for event in response["stream"]:
    if "contentBlockStart" in event:
        streamed["name"] = event["contentBlockStart"]["start"]["toolUse"]["name"]
    elif "contentBlockDelta" in event and "toolUse" in event["contentBlockDelta"]["delta"]:
        streamed["input"] += event["contentBlockDelta"]["delta"]["toolUse"]["input"]
    elif "messageStop" in event:
        streamed["stop"] = event["messageStop"]["stopReason"]

answer = client.converse(modelId=model, inferenceConfig={"maxTokens": 8, "temperature": 0},
                         toolConfig={"tools": [tool]},
                         messages=[question, first["output"]["message"],
                                   {"role": "user", "content": [{"toolResult": {"toolUseId": use["toolUseId"],
                                                                                "content": [{"text": "24 C"}]}}]}])
error = None
try:
    client.converse(modelId=model, messages=[question], toolConfig={"tools": [tool], "toolChoice": {"tool": {"name": "nope"}}})
except client.exceptions.ValidationException as e:
    error = e.response["Error"]["Message"]



def prompt_tokens(usage):
    # inputTokens leaves out what was read from the cache; the prompt is both.
    return usage["inputTokens"] + usage.get("cacheReadInputTokens", 0)


json.dump({"stopReason": first["stopReason"], "toolUse": use, "streamed": streamed,
           "answerStop": answer["stopReason"], "answerPromptTokens": prompt_tokens(answer["usage"]),
           "firstPromptTokens": prompt_tokens(first["usage"]), "validationError": error}, sys.stdout)
