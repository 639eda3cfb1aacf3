// The ciphertext parts each `data-encrypt` form adds to its FormData (docs/browser-contract.md,
// "Forms that carry ciphertext"). Pure: plaintexts and recipients in, age Blobs out.

import { AGE_TYPE, CipherError, encrypt, encryptBlob, parseRecipients } from "./cipher.js";
import { makeCaseKeyFile, makeOfficerKeyFile } from "./keys.js";

/** The `data-encrypt` kinds the contract defines. */
export const KINDS = Object.freeze(["message", "note", "status", "grant", "move"]);

/**
 * @typedef {object} Part
 * @property {string} name the multipart part name
 * @property {Blob} blob the age file (`application/octet-stream`)
 * @property {string} filename the part's filename: `<name>.age`, never a plaintext name
 */

function part(name, data) {
  const blob = data instanceof Blob ? data : new Blob([data], { type: AGE_TYPE });
  return { name, blob, filename: `${name}.age` };
}

/**
 * Builds the ciphertext parts for one submission.
 *
 * @param {string} kind `message`, `note`, `status` or `grant`
 * @param {object} input
 * @param {string | string[]} [input.recipients] the form's `data-recipients` (message, note, status)
 * @param {string} [input.message] message / note text
 * @param {Iterable<File>} [input.files] attachments (message, note)
 * @param {string} [input.reason] status change reason
 * @param {string} [input.caseIdentity] the case's `AGE-SECRET-KEY-1…` (grant)
 * @param {string} [input.officerIdentity] the case's officer key, when it has one (grant)
 * @param {string} [input.grantRecipient] the selected colleague's `age1…` (grant)
 * @param {Array<{holder: string, recipient: string}>} [input.moveHolders] the new triage
 *   group's members who need a copy (move): a `holder` part, then the sealed case key and,
 *   when the case has an officer key, the sealed officer key, for each
 * @returns {Promise<Part[]>} in the order they must be appended
 */
export async function buildParts(kind, input = {}) {
  switch (kind) {
    case "message":
    case "note": {
      const recipients = parseRecipients(input.recipients);
      const parts = [part("message", await encrypt(recipients, String(input.message ?? "")))];
      for (const file of input.files ?? []) {
        parts.push(part("attachment", await encryptBlob(recipients, file)));
        parts.push(part("attachment_name", await encrypt(recipients, String(file.name ?? ""))));
      }
      return parts;
    }
    case "status": {
      const recipients = parseRecipients(input.recipients);
      const reason = String(input.reason ?? "");
      if (reason.trim() === "") return [];
      return [part("reason", await encrypt(recipients, reason))];
    }
    case "grant": {
      if (!input.caseIdentity) throw new CipherError("case key not unlocked", "key_missing");
      const recipients = parseRecipients(input.grantRecipient);
      if (recipients.length !== 1) throw new CipherError("grant needs one recipient", "send_failed");
      const parts = [part("envelope", await encrypt(recipients, makeCaseKeyFile(input.caseIdentity)))];
      if (input.officerIdentity) {
        const file = makeOfficerKeyFile(input.officerIdentity);
        parts.push(part("officer_envelope", await encrypt(recipients, file)));
      }
      return parts;
    }
    case "move":
      return moveParts(input);
    default:
      throw new CipherError(`unknown data-encrypt kind: ${kind}`, "send_failed");
  }
}

/** A case moved to another entity: its keys sealed to each member of the new group. */
async function moveParts(input) {
  if (!input.caseIdentity) throw new CipherError("case key not unlocked", "key_missing");
  const parts = [];
  for (const h of input.moveHolders ?? []) {
    const recipients = parseRecipients(h.recipient);
    if (recipients.length !== 1) throw new CipherError("one recipient per holder", "send_failed");
    parts.push({ name: "holder", blob: new Blob([String(h.holder)]), filename: "holder" });
    parts.push(part("envelope", await encrypt(recipients, makeCaseKeyFile(input.caseIdentity))));
    if (input.officerIdentity) {
      const file = makeOfficerKeyFile(input.officerIdentity);
      parts.push(part("officer_envelope", await encrypt(recipients, file)));
    }
  }
  return parts;
}

/**
 * The body of `POST …/officer-key`: the officer key's recipient, then for each holder of the
 * case key a `holder` field and an `officer_envelope` part (the officer identity file
 * encrypted to that holder's recipient), in that order.
 * @param {FormData} formData already holding `csrf`
 * @param {{ identity: string, recipient: string }} key
 * @param {Array<{ holder: string, recipient: string }>} holders
 */
export async function officerKeyForm(formData, key, holders) {
  if (!holders.length) throw new CipherError("no holder to seal the officer key to", "send_failed");
  const file = makeOfficerKeyFile(key.identity);
  formData.append("recipient", key.recipient);
  for (const h of holders) {
    const recipients = parseRecipients(h.recipient);
    if (recipients.length !== 1) throw new CipherError("one recipient per holder", "send_failed");
    formData.append("holder", h.holder);
    const p = part("officer_envelope", await encrypt(recipients, file));
    formData.append(p.name, p.blob, p.filename);
  }
  return formData;
}

/**
 * Appends parts to a FormData (already holding the form's named controls).
 * @param {FormData} formData
 * @param {Part[]} parts
 */
export function appendParts(formData, parts) {
  for (const p of parts) formData.append(p.name, p.blob, p.filename);
  return formData;
}

/**
 * A download's file name from its decrypted name: no path, no control characters, not empty.
 * @param {string} name
 */
export function safeFileName(name) {
  const base = String(name ?? "")
    .split(/[/\\]/)
    .pop()
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim()
    .replace(/^\.+/, "");
  return base === "" ? "attachment" : base.slice(0, 200);
}
