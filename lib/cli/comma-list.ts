/** A comma-separated flag value as its trimmed, non-empty items; an absent flag stays undefined. */
export function commaList(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean);
}
