// Phone simulator: send through the JSON endpoints, poll the threads once a second.
(function () {
  "use strict";

  const root = document.getElementById("simulator");
  if (!root) return;
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const phones = Array.from(root.querySelectorAll(".sim-phone"));
  const seen = new Map(); // phone number -> signature of the rendered thread
  let polling = false;

  function timeOf(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  const STATUS_NOTE = {
    queued: "delivering…",
    sending: "delivering…",
    failed: "not delivered",
    unrouted: "not a pool number",
  };

  function bubble(entry) {
    const li = document.createElement("li");
    li.className = "sim-msg " + (entry.mine ? "sim-mine" : "sim-theirs");
    li.dataset.id = entry.id;
    li.dataset.status = entry.status;
    if (entry.kind === "call") li.classList.add("sim-callentry");
    const body = document.createElement("div");
    body.className = "sim-body";
    if (entry.kind === "call") {
      const tag = document.createElement("span");
      tag.className = "sim-calltag";
      tag.textContent = "Call";
      body.append(tag, " ");
    }
    body.append(entry.body);
    const meta = document.createElement("div");
    meta.className = "sim-meta";
    const note = STATUS_NOTE[entry.status];
    meta.textContent = timeOf(entry.at) + (note ? " · " + note : "");
    li.append(body, meta);
    return li;
  }

  function separator(entry) {
    const li = document.createElement("li");
    li.className = "sim-with";
    const verb = entry.mine ? "to" : "from";
    li.textContent = verb + " " + entry.with + (entry.service ? " · " + entry.service : "");
    return li;
  }

  function render(phone, entries) {
    const list = phone.querySelector(".sim-thread");
    const signature = entries.map((e) => e.id + e.status).join(",");
    if (seen.get(phone.dataset.number) === signature) return;
    const first = !seen.has(phone.dataset.number);
    seen.set(phone.dataset.number, signature);
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren();
    if (!entries.length) {
      const empty = document.createElement("li");
      empty.className = "sim-empty";
      empty.textContent = "No messages yet.";
      list.append(empty);
    }
    let previous = null;
    for (const entry of entries) {
      // A new header whenever the phone talks to another number, like a phone's threads.
      if (!previous || previous.with !== entry.with) list.append(separator(entry));
      list.append(bubble(entry));
      previous = entry;
    }
    if (first || atBottom) list.scrollTop = list.scrollHeight;
    if (first && previous) {
      selectNumber(phone, previous.with);
      phone.querySelector("select[name=to]").dispatchEvent(new Event("change"));
    }
  }

  function selectNumber(phone, number) {
    const select = phone.querySelector("select[name=to]");
    if (Array.from(select.options).some((o) => o.value === number)) select.value = number;
  }

  async function poll() {
    if (polling || document.hidden || !phones.length) return;
    polling = true;
    try {
      const response = await fetch(root.dataset.messagesUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ phones: phones.map((p) => p.dataset.number) }),
      });
      if (response.ok) {
        const data = await response.json();
        for (const phone of phones) render(phone, data.threads[phone.dataset.number] || []);
        root.classList.remove("sim-offline");
      } else {
        root.classList.add("sim-offline");
      }
    } catch (err) {
      root.classList.add("sim-offline");
    } finally {
      polling = false;
    }
  }

  async function post(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(payload),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      data = { error: "the server answered " + response.status };
    }
    if (!response.ok) throw new Error(data.error || "the server answered " + response.status);
    return data;
  }

  function findPhone(number) {
    return phones.find((p) => p.dataset.number === number);
  }

  function ring(number, callerId) {
    const phone = findPhone(number);
    if (!phone) return;
    const banner = phone.querySelector(".sim-ringing");
    banner.textContent = "Incoming call from " + callerId;
    banner.hidden = false;
    setTimeout(() => { banner.hidden = true; }, 10000);
  }

  function callSummary(result) {
    if (result.action === "transfer") {
      const who = result.destination_name || "the other party";
      const shown = findPhone(result.destination) ? "" : " (not shown here)";
      return "Call transferred to " + who + shown + "; their phone shows " + result.proxy + ".";
    }
    return "The caller hears: “" + result.text + "”";
  }

  for (const phone of phones) {
    const form = phone.querySelector(".sim-compose");
    const status = form.querySelector(".sim-status");
    const input = form.querySelector("input[name=text]");
    const select = form.querySelector("select[name=to]");
    const callButton = form.querySelector(".sim-call");

    function syncCallButton() {
      const option = select.selectedOptions[0];
      callButton.disabled = !option || option.dataset.voice !== "1";
    }
    // Until the phone has a thread to continue, start where its kind of person would.
    const wanted = form.dataset.role === "customer" || form.dataset.role === "driver" ? "rides" : "conversations";
    const first = Array.from(select.options).find((o) => o.dataset.service === wanted);
    if (first) select.value = first.value;
    select.addEventListener("change", syncCallButton);
    syncCallButton();

    function show(text, isError) {
      status.textContent = text;
      status.classList.toggle("sim-status-error", Boolean(isError));
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!input.value.trim()) return show("Type a message first.", true);
      show("Sending…");
      try {
        await post(root.dataset.smsUrl, {
          from: phone.dataset.number,
          to: select.value,
          text: input.value,
        });
        input.value = "";
        show("");
        await poll();
      } catch (err) {
        show(err.message, true);
      }
    });

    callButton.addEventListener("click", async () => {
      show("Calling…");
      try {
        const result = await post(root.dataset.callUrl, { from: phone.dataset.number, to: select.value });
        show(callSummary(result));
        if (result.action === "transfer") ring(result.destination, result.proxy);
        await poll();
      } catch (err) {
        show(err.message, true);
      }
    });
  }

  poll();
  setInterval(poll, 1000);
  document.addEventListener("visibilitychange", poll);
})();
