// The npm `openai` package against a running factory, configured as a user would: base URL and API key only (so it
// retries as it does by default). Lists models, completes a chat whole and streamed, embeds, and collects the typed
// errors: a wrong key, an unknown model, an invalid parameter and a full queue.
// Prints one JSON document of what came back, for the Java test to check.
import OpenAI from "openai";

const baseURL = process.env.FACTORY_URL + "/v1";
const client = new OpenAI({ baseURL, apiKey: process.env.FACTORY_API_KEY });
const model = process.env.FACTORY_MODEL;
const busyModel = process.env.FACTORY_BUSY_MODEL;
const embeddingModel = process.env.FACTORY_EMBEDDING_MODEL;
const out = {};

out.models = [];
for await (const m of client.models.list()) {
  out.models.push({ id: m.id, object: m.object, ownedBy: m.owned_by });
}

const messages = [{ role: "user", content: "Tell me about the sea." }];
const whole = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 12 });
out.chat = {
  text: whole.choices[0].message.content,
  role: whole.choices[0].message.role,
  finishReason: whole.choices[0].finish_reason,
  completionTokens: whole.usage.completion_tokens,
  object: whole.object,
};

const stream = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 12, stream: true,
  stream_options: { include_usage: true } });
out.chatStream = { text: "", chunks: 0, finishReason: null, completionTokens: null };
for await (const chunk of stream) {
  out.chatStream.chunks++;
  for (const choice of chunk.choices) {
    out.chatStream.text += choice.delta.content ?? "";
    out.chatStream.finishReason = choice.finish_reason ?? out.chatStream.finishReason;
  }
  out.chatStream.completionTokens = chunk.usage?.completion_tokens ?? out.chatStream.completionTokens;
}

// The package asks for base64 unless told otherwise, and decodes it.
const embedded = await client.embeddings.create({ model: embeddingModel, input: ["the sea", "the sea", "a mountain"] });
const [a, b, c] = embedded.data.map((d) => d.embedding);
const cosine = (x, y) => x.reduce((s, v, i) => s + v * y[i], 0)
  / Math.sqrt(x.reduce((s, v) => s + v * v, 0) * y.reduce((s, v) => s + v * v, 0));
out.embeddings = { count: embedded.data.length, dimensions: a.length, indexes: embedded.data.map((d) => d.index),
  same: cosine(a, b), different: cosine(a, c), promptTokens: embedded.usage.prompt_tokens };

const failure = async (call) => {
  try {
    await call();
    return { type: null };
  } catch (e) {
    return { type: e.constructor.name, status: e.status ?? null, code: e.code ?? null, param: e.param ?? null,
      errorType: e.type ?? null, message: e.message };
  }
};
const wrongKey = new OpenAI({ baseURL, apiKey: "fk_wrong" });
out.errors = {
  wrongKey: await failure(() => wrongKey.chat.completions.create({ model, messages, max_tokens: 2 })),
  unknownModel: await failure(() => client.chat.completions.create({ model: "acme/none", messages, max_tokens: 2 })),
  hotTemperature: await failure(() => client.chat.completions.create({ model, messages, max_tokens: 2, temperature: 5 })),
  unknownEmbeddingModel: await failure(() => client.embeddings.create({ model: "acme/none", input: "x" })),
};

// The busy model has one slot and room for one waiting request. One generation that never ends on its own
// (ignore_eos) takes the slot, a second waits; every attempt at a third, the package's retries included, finds the
// queue full.
const holders = [];
const hold = async (untilText) => {
  const held = await client.chat.completions.create({ model: busyModel, messages: [{ role: "user", content: "x" }],
    max_tokens: 100000, ignore_eos: true, stream: true });
  const iterator = held[Symbol.asyncIterator]();
  let generating = !untilText;
  while (!generating) {
    const { value, done } = await iterator.next();
    if (done) {
      throw new Error("the endless generation ended");
    }
    generating = (value.choices[0]?.delta?.content ?? "") !== "";
  }
  holders.push({ held, drained: (async () => {
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) { /* keep reading */ }
    } catch {
      // aborted
    }
  })() });
};
await hold(true);
await hold(false);
out.errors.throttled = await failure(() => client.chat.completions.create({ model: busyModel, messages, max_tokens: 2 }));
for (const holder of holders) {
  holder.held.controller.abort();
  await holder.drained;
}
process.stdout.write(JSON.stringify(out));
