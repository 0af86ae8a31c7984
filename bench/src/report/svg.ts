/** A tiny SVG plotter: line and grouped-bar panels, no dependencies. */

export interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

export interface Bars {
  name: string;
  color: string;
  values: number[];
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const label = (v: number): string => {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (a > 0 && a < 1) return `${+v.toPrecision(2)}`;
  return `${+v.toFixed(1)}`;
};

function linearTicks(min: number, max: number, count = 5): number[] {
  const span = max - min || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + 1e-9; t += step) ticks.push(+t.toFixed(10));
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= min * 0.999 && t <= max * 1.001) ticks.push(t);
    }
  }
  return ticks;
}

interface Scale {
  at(v: number): number;
  ticks: number[];
}

function scale(min: number, max: number, from: number, to: number, log: boolean): Scale {
  if (log) {
    const lo = Math.log10(Math.max(min, 1e-9));
    const hi = Math.log10(Math.max(max, min * 10));
    return {
      at: (v) => from + ((Math.log10(Math.max(v, 1e-9)) - lo) / (hi - lo || 1)) * (to - from),
      ticks: logTicks(10 ** lo, 10 ** hi),
    };
  }
  const ticks = linearTicks(min, max);
  const hi = Math.max(max, ticks[ticks.length - 1] ?? max);
  return { at: (v) => from + ((v - min) / (hi - min || 1)) * (to - from), ticks };
}

function frame(box: Box, title: string, xLabel: string, yLabel: string): string {
  return [
    `<text x="${box.x + box.w / 2}" y="${box.y - 12}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#999"/>`,
    `<text x="${box.x + box.w / 2}" y="${box.y + box.h + 34}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(${box.x - 46},${box.y + box.h / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  ].join("\n");
}

function legend(box: Box, items: { name: string; color: string; dashed?: boolean }[]): string {
  return items
    .map((item, i) => {
      const y = box.y + 14 + i * 16;
      const x = box.x + box.w - 190;
      return `<line x1="${x}" y1="${y - 4}" x2="${x + 18}" y2="${y - 4}" stroke="${item.color}" stroke-width="3"${item.dashed ? ' stroke-dasharray="5 3"' : ""}/><text x="${x + 24}" y="${y}">${esc(item.name)}</text>`;
    })
    .join("\n");
}

export function linePanel(
  box: Box,
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  opts: { logX?: boolean; logY?: boolean; yMin?: number } = {},
): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).filter(Number.isFinite);
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  if (xs.length === 0) return frame(box, `${title} (no data)`, xLabel, yLabel);
  const sx = scale(
    opts.logX ? Math.min(...xs) : 0,
    Math.max(...xs),
    box.x,
    box.x + box.w,
    !!opts.logX,
  );
  const yMin = opts.logY ? Math.max(Math.min(...ys.filter((y) => y > 0)), 1e-3) : (opts.yMin ?? 0);
  const sy = scale(yMin, Math.max(...ys), box.y + box.h, box.y, !!opts.logY);
  const parts = [frame(box, title, xLabel, yLabel)];
  for (const t of sx.ticks) {
    const x = sx.at(t);
    parts.push(
      `<line x1="${x}" y1="${box.y}" x2="${x}" y2="${box.y + box.h}" stroke="#eee"/><text x="${x}" y="${box.y + box.h + 16}" text-anchor="middle" font-size="11">${label(t)}</text>`,
    );
  }
  for (const t of sy.ticks) {
    const y = sy.at(t);
    parts.push(
      `<line x1="${box.x}" y1="${y}" x2="${box.x + box.w}" y2="${y}" stroke="#eee"/><text x="${box.x - 6}" y="${y + 4}" text-anchor="end" font-size="11">${label(t)}</text>`,
    );
  }
  for (const s of series) {
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (pts.length === 0) continue;
    const d = pts.map((p) => `${sx.at(p[0]).toFixed(1)},${sy.at(p[1]).toFixed(1)}`).join(" ");
    parts.push(
      `<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`,
    );
    if (pts.length < 30) {
      for (const p of pts) {
        parts.push(
          `<circle cx="${sx.at(p[0]).toFixed(1)}" cy="${sy.at(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`,
        );
      }
    }
  }
  parts.push(legend(box, series));
  return parts.join("\n");
}

export function barPanel(
  box: Box,
  title: string,
  yLabel: string,
  groups: string[],
  bars: Bars[],
  opts: { logY?: boolean } = {},
): string {
  const values = bars.flatMap((b) => b.values).filter((v) => Number.isFinite(v) && v > 0);
  if (values.length === 0) return frame(box, `${title} (no data)`, "", yLabel);
  const floor = opts.logY ? Math.min(...values) / 2 : 0;
  const sy = scale(floor, Math.max(...values) * 1.1, box.y + box.h, box.y, !!opts.logY);
  const parts = [frame(box, title, "", yLabel)];
  for (const t of sy.ticks) {
    const y = sy.at(t);
    parts.push(
      `<line x1="${box.x}" y1="${y}" x2="${box.x + box.w}" y2="${y}" stroke="#eee"/><text x="${box.x - 6}" y="${y + 4}" text-anchor="end" font-size="11">${label(t)}</text>`,
    );
  }
  const groupW = box.w / groups.length;
  const barW = (groupW * 0.8) / bars.length;
  groups.forEach((group, g) => {
    const gx = box.x + g * groupW + groupW * 0.1;
    parts.push(
      `<text x="${box.x + g * groupW + groupW / 2}" y="${box.y + box.h + 16}" text-anchor="middle" font-size="11">${esc(group)}</text>`,
    );
    bars.forEach((b, i) => {
      const v = b.values[g];
      if (v === undefined || !Number.isFinite(v) || v <= 0) return;
      const y = sy.at(v);
      parts.push(
        `<rect x="${(gx + i * barW).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(box.y + box.h - y).toFixed(1)}" fill="${b.color}"><title>${esc(`${group} ${b.name}: ${label(v)}`)}</title></rect>`,
        `<text x="${(gx + i * barW + barW / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="9">${label(v)}</text>`,
      );
    });
  });
  parts.push(legend(box, bars));
  return parts.join("\n");
}

export function document(width: number, height: number, title: string, body: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>
${body.join("\n")}
</svg>
`;
}
