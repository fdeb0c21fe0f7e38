// The AWS SDK for JavaScript v3 against a running factory, configured as a user would: endpoint, region and
// credentials, nothing else (so bedrock-runtime speaks its default, HTTP/2, and both clients retry as they do by
// default). Lists foundation models, converses whole and streamed, invokes with Meta Llama's body whole and streamed,
// and collects the typed errors: a wrong secret, an unknown model, an invalid parameter and a full queue.
// Prints one JSON document of what came back, for the Java test to check.
import { BedrockClient, ListFoundationModelsCommand } from "@aws-sdk/client-bedrock";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";

const endpoint = process.env.FACTORY_URL;
const region = "us-east-1";
const credentials = {
  accessKeyId: process.env.FACTORY_ACCESS_KEY_ID,
  secretAccessKey: process.env.FACTORY_SECRET_ACCESS_KEY,
};
const model = process.env.FACTORY_MODEL;
const busyModel = process.env.FACTORY_BUSY_MODEL;
const runtime = new BedrockRuntimeClient({ endpoint, region, credentials });
const control = new BedrockClient({ endpoint, region, credentials });
// What each client speaks by default: bedrock-runtime's handler is Node's HTTP/2 one.
const out = { handlers: { runtime: runtime.config.requestHandler.constructor.name,
  control: control.config.requestHandler.constructor.name } };

const listed = await control.send(new ListFoundationModelsCommand({}));
out.models = listed.modelSummaries.map((m) => m.modelId);

const messages = [{ role: "user", content: [{ text: "Tell me about the sea." }] }];
const inferenceConfig = { maxTokens: 12, temperature: 0 };
const whole = await runtime.send(new ConverseCommand({ modelId: model, messages, inferenceConfig }));
out.converse = {
  text: whole.output.message.content.map((b) => b.text ?? "").join(""),
  role: whole.output.message.role,
  stopReason: whole.stopReason,
  outputTokens: whole.usage.outputTokens,
  httpStatus: whole.$metadata.httpStatusCode,
};

const streamed = await runtime.send(new ConverseStreamCommand({ modelId: model, messages, inferenceConfig }));
out.converseStream = { text: "", events: [], stopReason: null, outputTokens: null };
for await (const event of streamed.stream) {
  const [name] = Object.keys(event);
  out.converseStream.events.push(name);
  if (event.contentBlockDelta) {
    out.converseStream.text += event.contentBlockDelta.delta.text ?? "";
  } else if (event.messageStop) {
    out.converseStream.stopReason = event.messageStop.stopReason;
  } else if (event.metadata) {
    out.converseStream.outputTokens = event.metadata.usage.outputTokens;
  }
}

const llama = JSON.stringify({ prompt: "The sea is", max_gen_len: 12, temperature: 0 });
const invoked = await runtime.send(new InvokeModelCommand({ modelId: model, body: llama,
  contentType: "application/json", accept: "application/json" }));
const invokedBody = JSON.parse(new TextDecoder().decode(invoked.body));
out.invoke = { generation: invokedBody.generation, stopReason: invokedBody.stop_reason,
  generationTokenCount: invokedBody.generation_token_count, contentType: invoked.contentType };

const invokedStream = await runtime.send(new InvokeModelWithResponseStreamCommand({ modelId: model, body: llama,
  contentType: "application/json", accept: "application/json" }));
out.invokeStream = { generation: "", chunks: 0, stopReason: null };
for await (const event of invokedStream.body) {
  const chunk = JSON.parse(new TextDecoder().decode(event.chunk.bytes));
  out.invokeStream.chunks++;
  out.invokeStream.generation += chunk.generation ?? "";
  out.invokeStream.stopReason = chunk.stop_reason ?? out.invokeStream.stopReason;
}

const failure = async (call) => {
  try {
    await call();
    return { name: null };
  } catch (e) {
    return { name: e.name, status: e.$metadata?.httpStatusCode, attempts: e.$metadata?.attempts, message: e.message };
  }
};
const wrongSecret = new BedrockRuntimeClient({ endpoint, region,
  credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: "wrong" + credentials.secretAccessKey } });
const unknownKey = new BedrockRuntimeClient({ endpoint, region,
  credentials: { accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: credentials.secretAccessKey } });
out.errors = {
  wrongSecret: await failure(() => wrongSecret.send(new ConverseCommand({ modelId: model, messages, inferenceConfig }))),
  unknownAccessKey: await failure(() => unknownKey.send(new ConverseCommand({ modelId: model, messages, inferenceConfig }))),
  wrongSecretControl: await failure(() => new BedrockClient({ endpoint, region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: "wrong" } })
    .send(new ListFoundationModelsCommand({}))),
  unknownModel: await failure(() => runtime.send(new ConverseCommand({ modelId: "acme/none", messages, inferenceConfig }))),
  unknownModelInvoke: await failure(() => runtime.send(new InvokeModelCommand({ modelId: "acme/none", body: llama }))),
  zeroMaxTokens: await failure(() => runtime.send(new ConverseCommand({ modelId: model, messages,
    inferenceConfig: { maxTokens: 0 } }))),
  hotTemperature: await failure(() => runtime.send(new ConverseCommand({ modelId: model, messages,
    inferenceConfig: { maxTokens: 4, temperature: 5 } }))),
};

// The busy model has one slot and room for one waiting request. One generation that never ends on its own (OpenAI's
// chat body through InvokeModel, with ignore_eos) takes the slot, a second waits; every attempt at a third, the SDK's
// retries included, finds the queue full. Both are read as they come, so neither holds back the HTTP/2 connection.
const holders = [];
const hold = async (untilText) => {
  const abort = new AbortController();
  const body = JSON.stringify({ messages: [{ role: "user", content: "x" }], max_tokens: 100000, ignore_eos: true });
  const response = await runtime.send(new InvokeModelWithResponseStreamCommand({ modelId: busyModel, body }),
    { abortSignal: abort.signal });
  const iterator = response.body[Symbol.asyncIterator]();
  let generating = !untilText;
  while (!generating) {
    const { value, done } = await iterator.next();
    if (done) {
      throw new Error("the endless generation ended");
    }
    const chunk = JSON.parse(new TextDecoder().decode(value.chunk.bytes));
    generating = (chunk.choices?.[0]?.delta?.content ?? "") !== "";
  }
  holders.push({ abort, drained: (async () => {
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) { /* keep the window open */ }
    } catch {
      // aborted
    }
  })() });
};
await hold(true);
await hold(false);
out.errors.throttled = await failure(() => runtime.send(new ConverseCommand({ modelId: busyModel, messages,
  inferenceConfig: { maxTokens: 2 } })));
for (const holder of holders) {
  holder.abort.abort();
  await holder.drained;
}
for (const client of [runtime, control, wrongSecret, unknownKey]) {
  client.destroy();
}
process.stdout.write(JSON.stringify(out));
