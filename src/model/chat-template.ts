/**
 * The chat template: how a list of messages becomes the prompt of a plain-text language model. The
 * shipped models were trained on Moby-Dick and State of the Union addresses, not on dialogue, so the
 * template is plain labelled turns, one per line, ending with the cue for the reply:
 *
 *     System: You are terse.
 *     User: Call me Ishmael.
 *     Assistant:
 *
 * Roles map to labels as in CHAT_ROLE_LABELS (developer counts as System). The reply is what the model
 * writes after "Assistant:"; generation also stops where it starts a new user turn ("\nUser:"), which
 * is never part of the reply.
 */
export const CHAT_ROLE_LABELS = {
  system: "System",
  developer: "System",
  user: "User",
  assistant: "Assistant",
  tool: "Tool",
} as const;

export type ChatRole = keyof typeof CHAT_ROLE_LABELS;

export interface ChatTurn {
  readonly role: ChatRole;
  readonly content: string;
}

/** Stop strings every chat reply gets besides the request's own. */
export const CHAT_TEMPLATE_STOPS: readonly string[] = ["\nUser:"];

export function renderChatPrompt(turns: readonly ChatTurn[]): string {
  return `${turns.map((t) => `${CHAT_ROLE_LABELS[t.role]}: ${t.content}\n`).join("")}${CHAT_ROLE_LABELS.assistant}:`;
}
