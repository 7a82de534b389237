/* The emulator page: one chat window per person on the chosen platform, live over server-sent
 * events. Every message, image and click goes to /emulator/api/act, where the emulator turns it
 * into that platform's real, sealed callback to this server. */
"use strict";

const PLATFORM_NAMES = { feishu: "飞书", wecom: "企业微信", dingtalk: "钉钉" };
const SUGGESTIONS = {
  zhangsan: ["报销 打车 45.5 昨天 去客户现场", "报销 午餐 68 今天 和客户吃饭", "我的报销", "帮助"],
  lisi: ["待我审批", "我的报销"],
  wangwu: ["待我审批"],
  zhaoliu: ["待我审批", "帮助"],
};
const { el } = Cards;
const state = {
  platform: "feishu", people: [], entries: new Map(), log: [], shown: new Set(), apis: {}, verified: {},
};

function initialPlatform() {
  const wanted = new URLSearchParams(location.search).get("platform");
  return PLATFORM_NAMES[wanted] ? wanted : "feishu";
}

async function loadState() {
  const response = await fetch("/emulator/api/state");
  const data = await response.json();
  state.people = data.people;
  state.apis = data.apis;
  state.verified = data.verified || {};
  state.entries = new Map(data.entries.map((entry) => [entry.id, entry]));
  state.log = data.log;
  if (!state.shown.size) data.people.forEach((p) => state.shown.add(p.key));
  renderAll();
}

function renderAll() {
  renderTabs();
  renderPeople();
  renderWindows();
  renderLog();
  const api = state.apis[state.platform];
  const checked = state.platform === "dingtalk" ? "Stream 已连接" : "回调地址已校验";
  const mark = state.verified[state.platform] ? ` · ${checked} ✓` : "";
  document.getElementById("apis").textContent = api ? `${PLATFORM_NAMES[state.platform]} 开放平台（模拟）: ${api}${mark}` : "";
}

function renderTabs() {
  const nav = document.getElementById("platforms");
  nav.replaceChildren();
  Object.entries(PLATFORM_NAMES).forEach(([key, name]) => {
    const tab = el("button", "tab tab-" + key + (key === state.platform ? " active" : ""), name);
    tab.type = "button";
    tab.dataset.platform = key;
    tab.addEventListener("click", () => {
      state.platform = key;
      history.replaceState(null, "", "?platform=" + key);
      document.body.dataset.platform = key;
      renderAll();
    });
    nav.appendChild(tab);
  });
  document.body.dataset.platform = state.platform;
}

function renderPeople() {
  const box = document.getElementById("people");
  box.replaceChildren();
  state.people.forEach((p) => {
    const chip = el("label", "person-chip");
    const check = el("input");
    check.type = "checkbox";
    check.checked = state.shown.has(p.key);
    check.addEventListener("change", () => {
      if (check.checked) state.shown.add(p.key); else state.shown.delete(p.key);
      renderWindows();
    });
    chip.append(check, document.createTextNode(p.name));
    box.appendChild(chip);
  });
}

function renderWindows() {
  const box = document.getElementById("windows");
  box.replaceChildren();
  state.people.filter((p) => state.shown.has(p.key)).forEach((p) => box.appendChild(chatWindow(p)));
  [...state.entries.values()].forEach(placeEntry);
}

function chatWindow(person) {
  const win = el("div", "window");
  win.dataset.user = person.key;
  const head = el("div", "window-head");
  head.appendChild(el("span", "avatar", person.name.slice(0, 1)));
  const who = el("div", "who");
  who.appendChild(el("b", "", person.name));
  who.appendChild(el("small", "", `${person.role} · ${person.ids[state.platform]}`));
  head.appendChild(who);
  win.appendChild(head);
  win.appendChild(el("div", "messages"));
  const chips = el("div", "chips");
  (SUGGESTIONS[person.key] || []).forEach((text) => {
    const chip = el("button", "chip", text);
    chip.type = "button";
    chip.addEventListener("click", () => say(person.key, text));
    chips.appendChild(chip);
  });
  const receipt = el("button", "chip chip-receipt", "📷 示例收据");
  receipt.type = "button";
  receipt.addEventListener("click", () => sendSampleReceipt(person.key));
  chips.appendChild(receipt);
  win.appendChild(chips);
  win.appendChild(composer(person));
  win.appendChild(el("div", "toast"));
  return win;
}

function composer(person) {
  const form = el("form", "composer");
  const file = el("input");
  file.type = "file";
  file.accept = "image/*";
  file.hidden = true;
  file.addEventListener("change", () => {
    if (file.files.length) sendFile(person.key, file.files[0]);
    file.value = "";
  });
  const attach = el("button", "attach", "🖼");
  attach.type = "button";
  attach.title = "发送图片（收据）";
  attach.addEventListener("click", () => file.click());
  const input = el("input", "text");
  input.placeholder = "发消息给 报销助手";
  input.name = "text";
  const send = el("button", "send", "发送");
  form.append(file, attach, input, send);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text) say(person.key, text);
    input.value = "";
  });
  return form;
}

function placeEntry(entry) {
  if (entry.platform !== state.platform) return;
  const win = document.querySelector(`.window[data-user="${entry.user}"] .messages`);
  if (!win) return;
  const node = renderEntry(entry);
  const old = win.querySelector(`[data-entry="${entry.id}"]`);
  if (old) {
    old.replaceWith(node);
  } else {
    win.appendChild(node);
    win.scrollTop = win.scrollHeight;
  }
}

function renderEntry(entry) {
  const row = el("div", `msg msg-${entry.sender} msg-${entry.kind}`);
  row.dataset.entry = entry.id;
  row.dataset.version = entry.version;
  if (entry.kind === "card") {
    const ctx = { user: entry.user, click: (value, form, button) => click(entry, value, form, button) };
    row.appendChild(Cards.render(entry.platform, entry.body, ctx));
  } else if (entry.kind === "image") {
    const img = el("img", "bubble image");
    img.src = entry.body;
    img.alt = "图片";
    row.appendChild(img);
  } else {
    const bubble = el("div", "bubble");
    bubble.appendChild(Cards.markdown(entry.body));
    row.appendChild(bubble);
  }
  return row;
}

async function act(action) {
  const response = await fetch("/emulator/api/act", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ platform: state.platform, ...action }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) toast(action.user, answer.error || `出错了（${response.status}）`, "error");
  else if (answer.toast) toast(action.user, answer.toast, answer.toast_kind);
  return answer;
}

function say(user, text) {
  return act({ user, type: "text", text });
}

async function click(entry, value, form, button) {
  if (button) button.disabled = true;
  await act({ user: entry.user, type: "click", card: entry.id, value, form });
  if (button && button.isConnected) button.disabled = false;
}

function sendFile(user, file) {
  if (file.size > 5 * 1024 * 1024) {
    toast(user, "图片大于 5 MB，请换一张", "error");
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    const data = String(reader.result).split(",", 2)[1];
    act({ user, type: "image", data, content_type: file.type || "image/png", name: file.name });
  };
  reader.readAsDataURL(file);
}

function sendSampleReceipt(user) {
  const canvas = document.createElement("canvas");
  canvas.width = 360;
  canvas.height = 220;
  const g = canvas.getContext("2d");
  g.fillStyle = "#fffdf5";
  g.fillRect(0, 0, 360, 220);
  g.strokeStyle = "#c0392b";
  g.strokeRect(8, 8, 344, 204);
  g.fillStyle = "#c0392b";
  g.font = "bold 22px sans-serif";
  g.fillText("出租车 乘车发票", 90, 48);
  g.fillStyle = "#333";
  g.font = "16px sans-serif";
  ["日期 2026-11-28  上车 09:12  下车 09:40", "里程 12.3 公里", "金额 ¥45.50"].forEach((line, i) => {
    g.fillText(line, 28, 96 + i * 34);
  });
  const data = canvas.toDataURL("image/png").split(",", 2)[1];
  return act({ user, type: "image", data, content_type: "image/png", name: "receipt.png" });
}

function toast(user, text, kind) {
  const box = document.querySelector(`.window[data-user="${user}"] .toast`);
  if (!box) return;
  box.textContent = text;
  box.className = "toast show toast-" + (kind || "info");
  clearTimeout(box.timer);
  box.timer = setTimeout(() => { box.className = "toast"; }, 2500);
}

function renderLog() {
  const list = document.getElementById("log");
  list.replaceChildren();
  state.log.forEach(appendLog);
}

function appendLog(record) {
  const only = document.getElementById("only-platform").checked;
  if (only && record.platform !== state.platform) return;
  const list = document.getElementById("log");
  const item = el("li", "log-" + record.direction);
  const arrow = { callback: "→ 服务器", reply: "← 应答", api: "服务器 →" }[record.direction] || "";
  const line = el("div", "log-line");
  line.appendChild(el("span", "log-time", new Date(record.at * 1000).toLocaleTimeString("zh-CN", { hour12: false })));
  line.appendChild(el("span", "log-platform", PLATFORM_NAMES[record.platform] || record.platform));
  line.appendChild(el("span", "log-dir", arrow));
  line.appendChild(el("span", "log-title", record.title));
  const detail = el("pre", "log-detail", JSON.stringify(record.detail, null, 2));
  detail.hidden = true;
  line.addEventListener("click", () => { detail.hidden = !detail.hidden; });
  item.append(line, detail);
  list.appendChild(item);
  while (list.children.length > 300) list.removeChild(list.firstChild);
  list.scrollTop = list.scrollHeight;
}

function listen() {
  const status = document.getElementById("status");
  const source = new EventSource("/emulator/api/events");
  source.onopen = () => {
    status.textContent = "已连接";
    status.className = "status ok";
    loadState();
  };
  source.onerror = () => {
    status.textContent = "连接断开，重连中…";
    status.className = "status down";
  };
  source.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "entry") {
      state.entries.set(message.data.id, message.data);
      placeEntry(message.data);
    } else if (message.type === "log") {
      state.log.push(message.data);
      if (state.log.length > 400) state.log.shift();
      appendLog(message.data);
    }
  };
}

document.getElementById("show-inspector").addEventListener("change", (event) => {
  document.getElementById("inspector").hidden = !event.target.checked;
});
document.getElementById("only-platform").addEventListener("change", renderLog);
state.platform = initialPlatform();
listen();
