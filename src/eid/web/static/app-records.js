// The inbox (mark a message read) and the consents (withdraw, after a confirmation) of the
// holder app: the API is called with the session cookie and CSRF token (eidApp.api), each result
// is announced in the live region and focus moves to where the holder continues.
"use strict";

(() => {
  const inbox = document.querySelector("[data-inbox]");
  const consents = document.querySelector("[data-consents]");

  async function markRead(button) {
    const id = button.dataset.markRead;
    button.disabled = true;
    try {
      await eidApp.api("POST", `/api/v1/me/notifications/${encodeURIComponent(id)}/read`);
    } catch (_) {
      button.disabled = false;
      return;
    }
    const item = button.closest("[data-message]");
    item.classList.remove("unread");
    const state = item.querySelector(".state");
    if (state) state.remove();
    button.remove();
    eidApp.announce(inbox.dataset.readDone);
    eidApp.focus(document.getElementById(`message-${id}`));
  }

  function showConfirm(id, shown) {
    const box = document.getElementById(`confirm-${id}`);
    const trigger = consents.querySelector(`[data-withdraw="${CSS.escape(id)}"]`);
    box.hidden = !shown;
    if (trigger) trigger.hidden = shown;
    if (shown) box.querySelector("[data-confirm-withdraw]").focus();
    else if (trigger) trigger.focus();
  }

  async function withdraw(id) {
    try {
      await eidApp.api("DELETE", `/api/v1/me/consents/${encodeURIComponent(id)}`);
    } catch (_) {
      return;
    }
    const item = consents.querySelector(`[data-consent="${CSS.escape(id)}"]`);
    for (const el of item.querySelectorAll(".confirm, .actions")) el.remove();
    item.classList.add("withdrawn");
    eidApp.announce(consents.dataset.withdrawn);
    eidApp.focus(document.getElementById(`consent-${id}`));
  }

  document.addEventListener("click", (event) => {
    const read = event.target.closest("[data-mark-read]");
    if (read && inbox) return void markRead(read);
    if (!consents) return;
    const start = event.target.closest("[data-withdraw]");
    if (start) return void showConfirm(start.dataset.withdraw, true);
    const cancel = event.target.closest("[data-cancel-withdraw]");
    if (cancel) return void showConfirm(cancel.dataset.cancelWithdraw, false);
    const confirm = event.target.closest("[data-confirm-withdraw]");
    if (confirm) withdraw(confirm.dataset.confirmWithdraw);
  });
})();
