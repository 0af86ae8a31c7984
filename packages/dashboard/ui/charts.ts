import uPlot from "uplot";
import type { Sample } from "../src/wire.js";

/** One line of a chart: which value of a sample it draws, and how. */
interface Line {
  readonly label: string;
  readonly color: string;
  readonly value: (sample: Sample) => number | null;
}

/** A chart's title, lines and how its axis and legend write values. */
export interface ChartSpec {
  readonly title: string;
  readonly lines: readonly Line[];
  readonly format: (value: number) => string;
  /** How the y axis writes its ticks; default `format`. */
  readonly tick?: (value: number) => string;
  /**
   * Whether a line bridges intervals without a value: latencies have none when nothing
   * was measured, which is no reason to break the line.
   */
  readonly spanGaps?: boolean;
}

const AXIS = {
  stroke: "#8b95a7",
  grid: { stroke: "#243042", width: 1 },
  ticks: { stroke: "#243042", width: 1 },
  font: "11px system-ui, sans-serif",
};

/**
 * A live uPlot chart over a rolling window of samples: `set` replaces the data (a
 * join's history) and sizes the window, `push` appends one sample and drops what fell
 * out of it.
 */
export class Chart {
  readonly element: HTMLElement;
  readonly #spec: ChartSpec;
  readonly #plot: uPlot;
  readonly #columns: (number | null)[][];
  #maxPoints = 1;

  constructor(spec: ChartSpec) {
    this.#spec = spec;
    this.#columns = [[], ...spec.lines.map(() => [])];
    this.element = document.createElement("section");
    this.element.className = "chart";
    const title = document.createElement("h2");
    title.textContent = spec.title;
    const canvas = document.createElement("div");
    this.element.append(title, canvas);
    this.#plot = new uPlot(
      {
        width: 400,
        height: 180,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, niceMax(max)] } },
        axes: [
          { ...AXIS },
          {
            ...AXIS,
            size: 70,
            values: (_u, ticks) => ticks.map((t) => (spec.tick ?? spec.format)(t)),
          },
        ],
        series: [
          {},
          ...spec.lines.map((line) => ({
            label: line.label,
            stroke: line.color,
            width: 2,
            fill: `${line.color}1f`,
            points: { show: false },
            spanGaps: spec.spanGaps ?? false,
            value: (_u: uPlot, v: number | null) => (v === null ? "–" : spec.format(v)),
          })),
        ],
      },
      this.#columns as uPlot.AlignedData,
      canvas,
    );
    new ResizeObserver(() => this.#fit(canvas)).observe(this.element);
  }

  /** Replaces the data with `samples`, oldest first, in a window of `maxPoints`. */
  set(samples: readonly Sample[], maxPoints: number): void {
    this.#maxPoints = maxPoints;
    for (const column of this.#columns) column.length = 0;
    for (const sample of samples.slice(-this.#maxPoints)) this.#append(sample);
    this.#plot.setData(this.#columns as uPlot.AlignedData);
  }

  /** Appends the newest sample. */
  push(sample: Sample): void {
    this.#append(sample);
    if (this.#columns[0]!.length > this.#maxPoints) {
      for (const column of this.#columns) column.shift();
    }
    this.#plot.setData(this.#columns as uPlot.AlignedData);
  }

  #append(sample: Sample): void {
    this.#columns[0]!.push(sample.at / 1000);
    this.#spec.lines.forEach((line, i) => {
      this.#columns[i + 1]!.push(line.value(sample));
    });
  }

  #fit(canvas: HTMLElement): void {
    const width = Math.floor(canvas.clientWidth);
    if (width > 0 && width !== this.#plot.width) this.#plot.setSize({ width, height: 180 });
  }
}

/** A y-axis top a little above the highest value, so lines never touch the frame. */
function niceMax(max: number | null): number {
  if (max === null || !(max > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return Math.ceil((max * 1.1) / step) * step;
}
