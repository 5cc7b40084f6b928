// Every call the page makes: the API key, OpenAI's error envelope, and one notice for the user.
const KEY = "vocalis.apiKey";
const notice = () => document.getElementById("notice");

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const apiKey = () => localStorage.getItem(KEY) || "";

export function saveKey(key) {
  if (key) localStorage.setItem(KEY, key);
  else localStorage.removeItem(KEY);
}

export function notify(message) {
  notice().textContent = message;
  notice().hidden = !message;
}

// What a refused request means to the person at the page, said once, at the top.
export function explain(error) {
  if (error instanceof ApiError && error.status === 401) {
    notify(apiKey()
      ? `The API key was not accepted (${error.message}) Enter the right key at the top and press Save key.`
      : "This server needs an API key: enter it in the API key field at the top and press Save key.");
  }
  return error.message || String(error);
}

export async function request(path, init = {}) {
  const headers = new Headers(init.headers || {});
  const key = apiKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The server cannot be reached.", "unreachable");
  }
  if (!response.ok) throw await failure(response);
  return response;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  let code = null;
  try {
    const body = await response.json();
    message = body.error?.message || body.detail || message;
    code = body.error?.code || null;
  } catch {
    // not the envelope (a proxy's page): the status line says enough
  }
  return new ApiError(response.status, message, code);
}

export const getJson = async (path) => (await request(path)).json();

export const postJson = async (path, body, init = {}) =>
  request(path, {
    ...init,
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

export function socket(path, params) {
  const url = new URL(path, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  for (const [name, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
  }
  // A browser cannot set headers on a WebSocket: the key travels as a subprotocol.
  const key = apiKey();
  const ws = new WebSocket(url, key ? ["vocalis", `openai-insecure-api-key.${key}`] : []);
  ws.binaryType = "arraybuffer";
  return ws;
}

// Server-sent events from a fetch response (POST bodies rule out EventSource).
export async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += value;
    let end;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim());
      if (data.length && data.join("") !== "[DONE]") yield JSON.parse(data.join("\n"));
    }
  }
}

export function save(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}
