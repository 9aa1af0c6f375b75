/** Common cron expressions (UTC) offered next to the free-text field. */
export const CRON_PRESETS: readonly { label: string; cron: string }[] = [
  { label: "every 15 minutes", cron: "*/15 * * * *" },
  { label: "every hour", cron: "@hourly" },
  { label: "every day at 06:00 UTC", cron: "0 6 * * *" },
  { label: "weekdays at 06:00 UTC", cron: "0 6 * * 1-5" },
  { label: "every Sunday at 00:00 UTC", cron: "@weekly" },
];

const ALIASES = new Set(["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight"]);

/**
 * What is obviously wrong with a cron expression before asking the server (which checks each field
 * and says which is out of range), or null.
 */
export function cronProblem(text: string): string | null {
  const cron = text.trim();
  if (cron === "") return "Enter a cron expression, e.g. 0 6 * * * (06:00 UTC every day).";
  if (cron.startsWith("@")) return ALIASES.has(cron.toLowerCase()) ? null : `Unknown shortcut ${cron}; use ${[...ALIASES].slice(0, 5).join(", ")}.`;
  const fields = cron.split(/\s+/).length;
  return fields === 5 ? null : `A cron expression has 5 fields (minute hour day month weekday); this one has ${fields}.`;
}
