// The npm `openai` package over HTTPS, configured as a user would: base URL and API key, with the site CA trusted
// through NODE_EXTRA_CA_CERTS (set by the caller). Prints one JSON document for the Java test to check.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.FACTORY_URL + "/v1", apiKey: process.env.FACTORY_API_KEY });
const model = process.env.FACTORY_MODEL;
const request = { model, temperature: 0, max_tokens: 8, messages: [{ role: "user", content: "Hello over TLS" }] };

const whole = await client.chat.completions.create(request);
let streamed = "";
let streamedFinish = null;
for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
  streamed += chunk.choices[0]?.delta?.content ?? "";
  streamedFinish = chunk.choices[0]?.finish_reason ?? streamedFinish;
}
console.log(JSON.stringify({ answer: whole.choices[0].message.content, finish: whole.choices[0].finish_reason,
  streamed, streamedFinish }));
