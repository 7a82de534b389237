/* Cards drawn the way each platform shows them, from the platform's own card JSON.
 * Feishu: Card JSON 2.0 (header, div, markdown, hr, column_set, form, input, button …).
 * WeCom: template_card (button_interaction: titles, quote, key-values, dropdown, buttons).
 * DingTalk: claimbot's one card template (cards/dingtalk/claimbot.card.json) and cardParamMap.
 * Every button calls ctx.click(value, form, button) with what that platform's callback carries.
 */
"use strict";

const Cards = (() => {
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function content(text) {
    return text && typeof text === "object" ? text.content || "" : text || "";
  }

  /* A small, safe markdown: **bold**, `code` and line breaks; everything else is text. */
  function markdown(source) {
    const box = el("div", "md");
    String(source || "").split("\n").forEach((line, i) => {
      if (i) box.appendChild(document.createElement("br"));
      line.split(/(\*\*[^*]+\*\*|`[^`]+`)/).forEach((part) => {
        if (/^\*\*[^*]+\*\*$/.test(part)) box.appendChild(el("b", "", part.slice(2, -2)));
        else if (/^`[^`]+`$/.test(part)) box.appendChild(el("code", "", part.slice(1, -1)));
        else if (part) box.appendChild(document.createTextNode(part));
      });
    });
    return box;
  }

  // -- Feishu ---------------------------------------------------------------------------------
  function feishu(card, ctx) {
    const root = el("div", "card feishu-card");
    const header = card.header;
    if (header) {
      const head = el("div", "fs-header fs-" + (header.template || "default"));
      const title = el("div", "fs-title", content(header.title));
      (header.text_tag_list || []).forEach((tag) => {
        title.appendChild(el("span", "fs-tag fs-tag-" + (tag.color || "neutral"), content(tag.text)));
      });
      head.appendChild(title);
      if (header.subtitle) head.appendChild(el("div", "fs-subtitle", content(header.subtitle)));
      root.appendChild(head);
    }
    const body = el("div", "fs-body");
    const elements = (card.body && card.body.elements) || card.elements || [];
    elements.forEach((node) => body.appendChild(feishuElement(node, ctx, null)));
    root.appendChild(body);
    return root;
  }

  function feishuElement(node, ctx, form) {
    switch (node.tag) {
      case "div": {
        const box = el("div", "fs-div");
        const text = node.text || {};
        if (text.tag === "lark_md") box.appendChild(markdown(text.content));
        else box.textContent = text.content || "";
        if (text.text_color) box.classList.add("fs-color-" + text.text_color);
        return box;
      }
      case "markdown":
        return markdown(node.content);
      case "hr":
        return el("hr", "fs-hr");
      case "note":
        return el("div", "fs-note", (node.elements || []).map(content).join(" "));
      case "column_set": {
        const row = el("div", "fs-columns" + (node.flex_mode === "flow" ? " fs-flow" : ""));
        (node.columns || []).forEach((column) => {
          const col = el("div", "fs-column");
          if (column.width === "weighted") col.style.flex = String(column.weight || 1);
          (column.elements || []).forEach((child) => col.appendChild(feishuElement(child, ctx, form)));
          row.appendChild(col);
        });
        return row;
      }
      case "form": {
        const box = el("form", "fs-form");
        box.addEventListener("submit", (event) => event.preventDefault());
        const inner = { node: box, inputs: {} };
        (node.elements || []).forEach((child) => box.appendChild(feishuElement(child, ctx, inner)));
        return box;
      }
      case "input":
        return feishuInput(node, form);
      case "select_static":
        return feishuSelect(node, form);
      case "button":
        return feishuButton(node, ctx, form);
      default:
        return el("div", "fs-unknown", "[" + node.tag + "]");
    }
  }

  function feishuInput(node, form) {
    const wrap = el("label", "fs-input");
    if (node.label) wrap.appendChild(el("span", "fs-label", content(node.label)));
    const multi = node.input_type === "multiline_text";
    const input = document.createElement(multi ? "textarea" : "input");
    if (multi) input.rows = node.rows || 2;
    input.name = node.name || "";
    input.placeholder = content(node.placeholder);
    input.value = node.default_value || "";
    if (node.max_length) input.maxLength = node.max_length;
    if (form) form.inputs[input.name] = () => input.value;
    wrap.appendChild(input);
    return wrap;
  }

  function feishuSelect(node, form) {
    const select = el("select", "fs-select");
    select.name = node.name || "";
    (node.options || []).forEach((option) => {
      const item = el("option", "", content(option.text));
      item.value = option.value;
      select.appendChild(item);
    });
    if (node.initial_option) select.value = node.initial_option;
    if (form) form.inputs[select.name] = () => select.value;
    return select;
  }

  function feishuButton(node, ctx, form) {
    const button = el("button", "btn fs-btn fs-btn-" + (node.type || "default"), content(node.text));
    button.type = "button";
    const behavior = (node.behaviors || []).find((b) => b.type === "callback");
    const value = behavior ? behavior.value : node.value;
    if (value && value.a) button.dataset.action = value.a;
    if (node.disabled || !value) button.disabled = true;
    button.addEventListener("click", () => {
      const submits = form && node.form_action_type === "submit";
      const values = {};
      if (submits) Object.entries(form.inputs).forEach(([name, read]) => { values[name] = read(); });
      ctx.click(value, submits ? values : null, button);
    });
    return button;
  }

  // -- WeCom ----------------------------------------------------------------------------------
  const WECOM_STYLES = { 1: "primary", 2: "default", 3: "danger", 4: "plain" };

  function wecom(card, ctx) {
    const root = el("div", "card wecom-card");
    if (card.source && card.source.desc) root.appendChild(el("div", "wc-source", card.source.desc));
    const main = card.main_title || {};
    if (main.title) root.appendChild(el("div", "wc-title", main.title));
    if (main.desc) root.appendChild(el("div", "wc-desc", main.desc));
    if (card.quote_area) {
      const quote = el("div", "wc-quote");
      if (card.quote_area.title) quote.appendChild(el("div", "wc-quote-title", card.quote_area.title));
      quote.appendChild(el("div", "", card.quote_area.quote_text || ""));
      root.appendChild(quote);
    }
    if (card.sub_title_text) root.appendChild(el("div", "wc-sub", card.sub_title_text));
    (card.vertical_content_list || []).forEach((row) => {
      const item = el("div", "wc-vertical");
      item.appendChild(el("div", "wc-vtitle", row.title));
      if (row.desc) item.appendChild(el("div", "wc-desc", row.desc));
      root.appendChild(item);
    });
    (card.horizontal_content_list || []).forEach((row) => {
      const line = el("div", "wc-kv");
      line.appendChild(el("span", "wc-key", row.keyname));
      line.appendChild(el("span", "wc-value", row.value));
      root.appendChild(line);
    });
    root.appendChild(wecomActions(card, ctx));
    return root;
  }

  function wecomActions(card, ctx) {
    const box = el("div", "wc-actions");
    const selection = card.button_selection;
    let select = null;
    if (selection && (card.button_list || []).length) {
      const wrap = el("label", "wc-selection");
      wrap.appendChild(el("span", "", selection.title || ""));
      select = el("select", "wc-select");
      select.name = selection.question_key;
      (selection.option_list || []).forEach((option) => {
        const item = el("option", "", option.text);
        item.value = option.id;
        select.appendChild(item);
      });
      if (selection.selected_id) select.value = selection.selected_id;
      wrap.appendChild(select);
      box.appendChild(wrap);
    }
    const buttons = card.button_list || [];
    buttons.forEach((item) => {
      const button = el("button", "btn wc-btn wc-" + (WECOM_STYLES[item.style] || "default"), item.text);
      button.type = "button";
      button.dataset.action = item.key;
      button.addEventListener("click", () => {
        const form = select ? { [select.name]: select.value } : null;
        ctx.click(item.key, form, button);
      });
      box.appendChild(button);
    });
    if (!buttons.length && card.replace_text) {
      const done = el("button", "btn wc-btn wc-done", card.replace_text);
      done.disabled = true;
      box.appendChild(done);
    }
    return box;
  }

  // -- DingTalk -------------------------------------------------------------------------------
  function list(params, name) {
    try {
      const value = JSON.parse(params[name] || "[]");
      return Array.isArray(value) ? value : [];
    } catch (error) {
      return [];
    }
  }

  function dingtalk(card, ctx) {
    const params = card.params || {};
    const mine = (card.private || {})[ctx.user] || {};
    const root = el("div", "card dingtalk-card");
    root.appendChild(el("div", "dt-title dt-" + (params.tone || "blue"), params.title || ""));
    if (params.subtitle) root.appendChild(el("div", "dt-subtitle", params.subtitle));
    list(params, "fields").forEach((row) => {
      const line = el("div", "dt-field");
      line.appendChild(el("span", "dt-label", row.label));
      line.appendChild(el("span", "dt-value", row.value));
      root.appendChild(line);
    });
    list(params, "items").forEach((row) => {
      const item = el("div", "dt-item");
      const top = el("div", "dt-item-top");
      top.appendChild(el("span", "", row.title));
      top.appendChild(el("span", "dt-amount", row.amount));
      item.appendChild(top);
      if (row.detail) item.appendChild(el("div", "dt-detail", row.detail));
      root.appendChild(item);
    });
    list(params, "notes").forEach((row) => root.appendChild(el("div", "dt-note dt-" + row.level, row.text)));
    list(params, "trail").forEach((row) => {
      const step = el("div", "dt-trail" + (row.current ? " dt-current" : ""));
      step.appendChild(el("div", "", row.title));
      step.appendChild(el("div", "dt-detail", row.detail));
      root.appendChild(step);
    });
    root.appendChild(dingtalkButtons(params, ctx));
    if (params.status) root.appendChild(el("div", "dt-status", params.status));
    if (mine.notice) root.appendChild(el("div", "dt-notice", mine.notice));
    return root;
  }

  function dingtalkButtons(params, ctx) {
    const box = el("div", "dt-buttons");
    if (params.status) return box; // the template hides the buttons once there is a status
    list(params, "buttons").forEach((item) => {
      const button = el("button", "btn dt-btn dt-btn-" + (item.style || "normal"), item.text);
      button.type = "button";
      button.dataset.action = item.action;
      button.dataset.reason = item.reason || "";
      button.addEventListener("click", () => {
        ctx.click({ action: item.action, reason: item.reason || "" }, null, button);
      });
      box.appendChild(button);
    });
    return box;
  }

  function render(platform, card, ctx) {
    try {
      if (platform === "feishu") return feishu(card, ctx);
      if (platform === "wecom") return wecom(card, ctx);
      return dingtalk(card, ctx);
    } catch (error) {
      return el("pre", "card card-error", "无法显示的卡片: " + error + "\n" + JSON.stringify(card, null, 2));
    }
  }

  return { render, markdown, el };
})();
