// One JSON line per figure: what Hangar measured, the floor measured beside it in the same run, their ratio,
// the goal and whether it is met. bench/run.sh collects them (BENCH_FIGURES) and prints them last.
import fs from 'node:fs';

export interface FigureInput {
  figure: string;
  /** Hangar's number and the floor's, in `unit`. */
  hangar: number;
  floor: number;
  unit: string;
  /** The goal, on the ratio (hangar/floor) or on Hangar's own number; `<=` or `>=`. */
  goal: number;
  goal_on: 'ratio' | 'hangar';
  cmp: '<=' | '>=';
}

export function figure(f: FigureInput): void {
  const ratio = f.floor ? f.hangar / f.floor : NaN;
  const v = f.goal_on === 'ratio' ? ratio : f.hangar;
  const met = f.cmp === '<=' ? v <= f.goal : v >= f.goal;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const line = JSON.stringify({
    figure: f.figure,
    hangar: round(f.hangar),
    floor: round(f.floor),
    ratio: round(ratio),
    goal: f.goal,
    met,
    unit: f.unit,
    goal_on: f.goal_on,
    cmp: f.cmp,
  });
  console.log(
    `  ${f.figure}: hangar ${round(f.hangar)} ${f.unit}, floor ${round(f.floor)} ${f.unit}, ratio ${round(ratio)}x; goal ${f.goal_on} ${f.cmp} ${f.goal}: ${met ? 'met' : 'NOT met'}`,
  );
  if (process.env.BENCH_FIGURES) fs.appendFileSync(process.env.BENCH_FIGURES, line + '\n');
  else console.log(line);
}
