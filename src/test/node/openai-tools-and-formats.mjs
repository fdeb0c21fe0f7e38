// The npm `openai` package against a running factory, configured as a user would: base URL and API key only.
// Structured output from a zod schema (zodResponseFormat and .parse), tool calls streamed, several choices
// (streamed chat and a completions prompt array), and a typed error.
// Prints one JSON document of what came back, for the Java test to check.
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

const client = new OpenAI({ baseURL: process.env.FACTORY_URL + "/v1", apiKey: process.env.FACTORY_API_KEY });
const model = process.env.FACTORY_MODEL;
const out = {};

const Forecast = z.object({
  city: z.enum(["PARIS", "OSLO", "LIMA"]),
  temperature: z.number().int().min(-60).max(60),
  rain: z.boolean(),
  issued: z.string().datetime(),
  station: z.string().uuid().nullable(),
});
const parsed = await client.chat.completions.parse({
  model, temperature: 0, max_tokens: 128,
  messages: [{ role: "user", content: "Forecast for Oslo?" }],
  response_format: zodResponseFormat(Forecast, "forecast"),
});
out.parsed = parsed.choices[0].message.parsed;
out.parsedFinish = parsed.choices[0].finish_reason;

const tools = [{ type: "function", function: { name: "get_weather", description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string", enum: ["Oslo", "Lima"] } }, required: ["city"],
                additionalProperties: false } } }];
const messages = [{ role: "user", content: "Weather in Lima?" }];
const whole = await client.chat.completions.create({ model, messages, tools, tool_choice: "required",
  parallel_tool_calls: false, temperature: 0, max_tokens: 96 });
out.wholeCall = whole.choices[0].message.tool_calls[0].function;

const stream = await client.chat.completions.create({ model, messages, tools, tool_choice: "required",
  parallel_tool_calls: false, temperature: 0, max_tokens: 96, stream: true });
const calls = [];
let finish = null;
for await (const chunk of stream) {
  for (const choice of chunk.choices) {
    for (const delta of choice.delta.tool_calls ?? []) {
      calls[delta.index] ??= { id: null, name: null, arguments: "" };
      if (delta.id) { calls[delta.index].id = delta.id; calls[delta.index].name = delta.function.name; }
      calls[delta.index].arguments += delta.function?.arguments ?? "";
    }
    finish = choice.finish_reason ?? finish;
  }
}
out.streamedCalls = calls;
out.streamedFinish = finish;

// Several choices, streamed: the client's stream helper puts each chunk under its choice's index.
const several = client.chat.completions.stream({ model, messages: [{ role: "user", content: "Say something" }],
  n: 2, temperature: 0, max_tokens: 8 });
const final = await several.finalChatCompletion();
out.choices = final.choices.map((c) => ({ index: c.index, content: c.message.content, finish: c.finish_reason }));
const texts = await client.completions.create({ model, prompt: ["Hello", "Goodbye"], n: 2, max_tokens: 4,
  temperature: 0 });
out.completionIndexes = texts.choices.map((c) => c.index);

try {
  await client.chat.completions.create({ model: "acme/none", messages });
} catch (e) {
  out.error = { type: e.constructor.name, status: e.status };
}
process.stdout.write(JSON.stringify(out));
