// Keeping the vet's hands busy and their slices theirs: prefetch the next slices' images while
// the current one is looked at, renew the leases while the page is open, release them when the
// vet leaves (expiry stays the fallback for a crashed tab or a lost network).
import { imageLoader } from "@cornerstonejs/core";
import { postJson } from "./api.js";
import { imageIdFor } from "./viewer.js";

/** Start decoding the lookahead items' target slices, so the next one shows at once. */
export function prefetchTargets(items) {
  for (const item of items || []) {
    // Failures surface when the slice is shown (with the viewer's error and retry), not here.
    imageLoader.loadAndCacheImage(imageIdFor(item.slice.dicom_url)).catch(() => {});
  }
}

/**
 * Renew the user's label leases every third of the lease time while `isHolding()`, and release
 * them on pagehide. `onRenewed(expiresAt)` receives the new expiry; `onLost(message)` is called
 * when the server says this user holds nothing any more.
 */
export function keepLeases({ renewUrl, releaseUrl, csrfToken, leaseSeconds, isHolding, onRenewed, onLost }) {
  const every = Math.max(5, leaseSeconds / 3) * 1000;
  const timer = setInterval(async () => {
    if (!isHolding()) return;
    try {
      const body = await postJson(renewUrl, csrfToken);
      onRenewed?.(body.lease_expires_at);
    } catch (error) {
      if (error.status === 409) onLost?.(error.message);
      // Other failures (network, a restart): the next tick tries again before the lease ends.
    }
  }, every);

  const release = () => {
    // keepalive lets the request outlive the page; the CSRF header is what Django checks.
    fetch(releaseUrl, {
      method: "POST",
      keepalive: true,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken },
    }).catch(() => {});
  };
  window.addEventListener("pagehide", release);
  return {
    stop() {
      clearInterval(timer);
      window.removeEventListener("pagehide", release);
    },
  };
}

/**
 * Run tasks one after another (submits must reach the server in the order the vet made them:
 * only the current slice may be labeled). `run(task)` resolves with the task's own result;
 * `onPendingChange(count)` hears how many are waiting or running.
 */
export function createSerialQueue(onPendingChange = () => {}) {
  let tail = Promise.resolve();
  let pending = 0;
  return {
    run(task) {
      pending += 1;
      onPendingChange(pending);
      const result = tail.then(task);
      tail = result.catch(() => {}).finally(() => {
        pending -= 1;
        onPendingChange(pending);
      });
      return result;
    },
    idle() {
      return tail;
    },
    get pending() {
      return pending;
    },
  };
}
