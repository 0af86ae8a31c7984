/** How the page writes numbers: short, with units, and "–" for nothing measured. */

const NONE = "–";

/** 1234 → "1.23k"; small numbers keep up to one decimal. */
export function count(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (value >= 1e4) return `${(value / 1e3).toPrecision(3)}k`;
  return value >= 100 || Number.isInteger(value) ? `${Math.round(value)}` : value.toFixed(1);
}

/** Bytes (per second with `perSecond`) in B, kB, MB, GB. */
export function bytes(value: number, perSecond = false): string {
  const suffix = perSecond ? "/s" : "";
  const units = ["B", "kB", "MB", "GB"];
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 ? `${Math.round(value)}` : value.toPrecision(3);
  return `${digits} ${units[unit]}${suffix}`;
}

/** Milliseconds with precision that suits their size. */
export function ms(value: number | null): string {
  if (value === null) return NONE;
  if (value < 1) return `${value.toFixed(3)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${Math.round(value)} ms`;
}

/** A duration as its two largest units: "3d 4h", "5m 12s", "8s". */
export function duration(totalMs: number): string {
  const s = Math.max(0, Math.floor(totalMs / 1000));
  const parts: [number, string][] = [
    [Math.floor(s / 86_400), "d"],
    [Math.floor((s % 86_400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "m"],
    [s % 60, "s"],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first < 0) return "0s";
  return parts
    .slice(first, first + 2)
    .map(([n, unit]) => `${n}${unit}`)
    .join(" ");
}

/** How long ago something was heard from. */
export function ago(silentMs: number): string {
  if (silentMs < 1000) return "just now";
  if (silentMs < 60_000) return `${(silentMs / 1000).toFixed(1)} s ago`;
  return `${duration(silentMs)} ago`;
}

/** An axis tick in ms: as few digits as the tick has, "0" for zero. */
export function msTick(value: number): string {
  return value === 0 ? "0" : `${Number(value.toPrecision(3))} ms`;
}
