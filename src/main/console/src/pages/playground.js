import { useRef, useState } from 'preact/hooks';
import { html, Page, Card, Alert, Field, useApi } from '../ui.js';
import { streamChat } from '../api.js';

function requestOf(model, settings, messages) {
  const body = { model, messages: [...(settings.system ? [{ role: 'system', content: settings.system }] : []),
    ...messages], max_tokens: Number(settings.maxTokens), temperature: Number(settings.temperature),
    top_p: Number(settings.topP) };
  const stop = settings.stop.split(',').map((s) => s.trim()).filter(Boolean);
  if (stop.length) body.stop = stop;
  if (settings.json) body.response_format = { type: 'json_object' };
  if (settings.tools.trim()) body.tools = JSON.parse(settings.tools);
  return body;
}

/** A value as a Python literal (strings as JSON writes them, which Python reads the same). */
function py(v, indent = '') {
  const inner = `${indent}    `;
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (Array.isArray(v)) {
    return v.length ? `[\n${v.map((x) => inner + py(x, inner)).join(',\n')}\n${indent}]` : '[]';
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v);
    return entries.length ? `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${py(x, inner)}`)
      .join(',\n')}\n${indent}}` : '{}';
  }
  return JSON.stringify(v);
}

/** The same request as curl, Python (openai, boto3) and Java (the OpenAI Java SDK). */
function code(body) {
  const base = location.origin;
  const last = body.messages.filter((m) => m.role !== 'system');
  const system = body.messages.find((m) => m.role === 'system');
  const converse = {
    modelId: body.model,
    messages: last.map((m) => ({ role: m.role, content: [{ text: m.content }] })),
    inferenceConfig: { maxTokens: body.max_tokens, temperature: body.temperature, topP: body.top_p,
      ...(body.stop ? { stopSequences: body.stop } : {}) },
    ...(system ? { system: [{ text: system.content }] } : {}),
  };
  const javaMessages = body.messages.map((m) => `                .add${{ system: 'System', user: 'User',
    assistant: 'Assistant' }[m.role]}Message(${JSON.stringify(m.content)})`).join('\n');
  return {
    curl: `curl ${base}/v1/chat/completions \\\n  -H "Authorization: Bearer $FACTORY_KEY" \\\n`
      + `  -H "Content-Type: application/json" \\\n  -d '${JSON.stringify(body, null, 2).replace(/'/g, "'\\''")}'`,
    'Python (openai)': `import os\nfrom openai import OpenAI\n\nclient = OpenAI(base_url="${base}/v1", `
      + `api_key=os.environ["FACTORY_KEY"])\nresponse = client.chat.completions.create(**${py(body)})\n`
      + 'print(response.choices[0].message.content)',
    'Python (boto3)': `import boto3\n\n# An AWS key pair from 'factory keys create --aws', in the usual AWS variables\n`
      + `client = boto3.client("bedrock-runtime", endpoint_url="${base}", region_name="us-east-1")\n`
      + `response = client.converse(**${py(converse)})\nprint(response["output"]["message"]["content"][0]["text"])`,
    Java: `OpenAIClient client = OpenAIOkHttpClient.builder()\n        .baseUrl("${base}/v1")\n`
      + '        .apiKey(System.getenv("FACTORY_KEY"))\n        .build();\n'
      + 'ChatCompletion completion = client.chat().completions().create(ChatCompletionCreateParams.builder()\n'
      + `                .model(${JSON.stringify(body.model)})\n${javaMessages}\n`
      + `                .maxCompletionTokens(${body.max_tokens})\n                .temperature(${body.temperature})\n`
      + '                .build());\nSystem.out.println(completion.choices().get(0).message().content().orElse(""));',
  };
}

/** One model's side of the playground: its conversation, the answer streaming in, and its numbers. */
function useConversation() {
  const [messages, setMessages] = useState([]);
  const [streaming, setStreaming] = useState('');
  const [stats, setStats] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const abort = useRef(null);
  const send = async (model, settings, user) => {
    const history = [...messages, { role: 'user', content: user }];
    setMessages(history);
    setStreaming('');
    setStats(null);
    setError(null);
    setBusy(true);
    abort.current = new AbortController();
    let text = '';
    let tools = '';
    try {
      const result = await streamChat(requestOf(model, settings, history), (delta, toolDeltas) => {
        text += delta;
        for (const t of toolDeltas) tools += (t.function?.name ? `${t.function.name}(` : '') + (t.function?.arguments ?? '');
        setStreaming(text + (tools ? `\n[tool call] ${tools}` : ''));
      }, abort.current.signal);
      setMessages([...history, { role: 'assistant', content: text + (tools ? `\n[tool call] ${tools}` : '') }]);
      setStats(result);
    } catch (e) {
      if (e.name !== 'AbortError') setError(e);
      setMessages(text ? [...history, { role: 'assistant', content: text }] : history);
    } finally {
      setStreaming('');
      setBusy(false);
    }
  };
  return { messages, streaming, stats, error, busy, send, stop: () => abort.current?.abort(),
    clear: () => { setMessages([]); setStats(null); setError(null); } };
}

function Transcript({ label, side }) {
  return html`<div class="transcript" role="log" aria-label=${`Conversation with ${label}`} aria-busy=${side.busy}>
    ${side.messages.map((m) => html`<div class=${`message ${m.role}`}><span class="role">${m.role}</span>
      <pre>${m.content}</pre></div>`)}
    ${side.busy ? html`<div class="message assistant streaming"><span class="role">assistant</span>
      <pre data-testid="streaming">${side.streaming}</pre></div>` : null}
    <${Alert} error=${side.error} />
    ${side.stats ? html`<p class="stats" data-testid="stats">
      ${side.stats.usage ? `${side.stats.usage.prompt_tokens} prompt + ${side.stats.usage.completion_tokens} completion `
        + 'tokens · ' : ''}
      ${side.stats.ttftMs !== null ? `first token ${Math.round(side.stats.ttftMs)} ms · ` : ''}
      ${side.stats.usage && side.stats.decodeMs ? `${(side.stats.usage.completion_tokens / (side.stats.decodeMs / 1000))
        .toFixed(1)} tokens/s · ` : ''}${Math.round(side.stats.totalMs)} ms in all · ${side.stats.finish ?? ''}</p>` : null}
  </div>`;
}

export function Playground() {
  const models = useApi('/v1/models');
  const ids = (models.data?.data ?? []).map((m) => m.id);
  const [model, setModel] = useState('');
  const [other, setOther] = useState('');
  const [compare, setCompare] = useState(false);
  const [input, setInput] = useState('');
  const [tab, setTab] = useState('curl');
  const [problem, setProblem] = useState(null);
  const [settings, setSettings] = useState({ system: '', temperature: 0.7, topP: 1, maxTokens: 256, stop: '',
    json: false, tools: '' });
  const left = useConversation();
  const right = useConversation();
  const first = model || ids[0] || '';
  const second = other || ids[1] || ids[0] || '';
  const set = (name) => (e) => setSettings({ ...settings,
    [name]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const submit = (e) => {
    e.preventDefault();
    if (!input.trim() || !first) return;
    try {
      requestOf(first, settings, []);
    } catch {
      setProblem('the tools are not valid JSON: give an array of OpenAI tool definitions');
      return;
    }
    setProblem(null);
    left.send(first, settings, input);
    if (compare) right.send(second, settings, input);
    setInput('');
  };
  let snippet = '';
  try {
    snippet = code(requestOf(first, settings, [...left.messages, ...(input ? [{ role: 'user', content: input }] : [])]))[tab];
  } catch {
    snippet = '(the tools are not valid JSON)';
  }
  return html`<${Page} title="Playground">
    <${Alert} error=${models.error || problem} />
    ${models.data && !ids.length ? html`<div class="alert warn" role="status">No model is deployed: deploy one first.</div>`
      : null}
    <div class="playground">
      <form class="settings" onSubmit=${submit} aria-label="Request settings">
        <${Field} label="Model"><select value=${first} onChange=${(e) => setModel(e.target.value)}>
          ${ids.map((id) => html`<option value=${id}>${id}</option>`)}</select><//>
        <label class="check"><input type="checkbox" checked=${compare} onChange=${(e) => setCompare(e.target.checked)} />
          Compare with a second model</label>
        ${compare ? html`<${Field} label="Second model"><select value=${second} onChange=${(e) => setOther(e.target.value)}>
          ${ids.map((id) => html`<option value=${id}>${id}</option>`)}</select><//>` : null}
        <${Field} label="System prompt"><textarea rows="3" value=${settings.system} onInput=${set('system')} /><//>
        <div class="inline-form">
          <${Field} label="Temperature"><input type="number" step="0.1" min="0" max="2" value=${settings.temperature}
            onInput=${set('temperature')} /><//>
          <${Field} label="Top p"><input type="number" step="0.05" min="0" max="1" value=${settings.topP}
            onInput=${set('topP')} /><//>
          <${Field} label="Max tokens"><input type="number" min="1" value=${settings.maxTokens}
            onInput=${set('maxTokens')} /><//>
        </div>
        <${Field} label="Stop sequences" hint="comma-separated"><input value=${settings.stop} onInput=${set('stop')} /><//>
        <label class="check"><input type="checkbox" checked=${settings.json} onChange=${set('json')} /> JSON mode</label>
        <${Field} label="Tools" hint="OpenAI tool definitions, as a JSON array (optional)">
          <textarea rows="2" class="mono" value=${settings.tools} onInput=${set('tools')} /><//>
        <${Field} label="Message"><textarea rows="3" required value=${input} onInput=${(e) => setInput(e.target.value)}
          onKeyDown=${(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e); }} /><//>
        <div class="row-actions">
          <button type="submit" class="primary" disabled=${left.busy || right.busy || !first}>Send</button>
          <button type="button" class="ghost" disabled=${!left.busy && !right.busy}
            onClick=${() => { left.stop(); right.stop(); }}>Stop</button>
          <button type="button" class="ghost" onClick=${() => { left.clear(); right.clear(); }}>Clear</button>
        </div>
      </form>
      <div class=${compare ? 'sides two' : 'sides'}>
        <${Card} title=${first || 'No model'}><${Transcript} label=${first} side=${left} /><//>
        ${compare ? html`<${Card} title=${second}><${Transcript} label=${second} side=${right} /><//>` : null}
      </div>
    </div>
    <${Card} title="The same request in code" wide>
      <div role="tablist" aria-label="Language" class="tabs">
        ${['curl', 'Python (openai)', 'Python (boto3)', 'Java'].map((t) => html`<button role="tab"
          aria-selected=${tab === t} class=${tab === t ? 'tab active' : 'tab'} onClick=${() => setTab(t)}>${t}</button>`)}
      </div>
      <pre class="code" role="tabpanel" aria-label=${tab} tabindex="0">${snippet}</pre>
    <//>
  <//>`;
}
