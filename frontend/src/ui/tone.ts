/** What a status or severity means at a glance; each tone has a colour in styles.css. */
export type Tone = "neutral" | "active" | "good" | "bad" | "warn";
