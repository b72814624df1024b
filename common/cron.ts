// Cron expressions as a Kubernetes CronJob takes them (robfig/cron standard parser): five fields, or a macro.
// Validated here so a bad schedule is a 400 naming the field, not a failed environment later.

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesFrom?: number;
}
const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function value(s: string, f: Field): number | undefined {
  const i = f.names?.indexOf(s.toLowerCase()) ?? -1;
  if (i >= 0) return i + (f.namesFrom ?? 0);
  if (!/^\d{1,2}$/.test(s)) return undefined;
  return Number(s);
}

/** Why `expr` is not a schedule a CronJob accepts, or undefined when it is. */
export function cronProblem(expr: string): string | undefined {
  const e = expr.trim();
  if (e.startsWith('@')) return MACROS.has(e) ? undefined : `unknown macro '${e}' (${[...MACROS].join(', ')})`;
  // The time zone is a CronJob field of its own (spec.timeZone); the API server refuses TZ= in the schedule.
  if (/^(CRON_)?TZ=/.test(e)) return 'must not carry a time zone';
  const parts = e.split(/\s+/);
  if (parts.length !== 5) return `must have 5 fields (minute hour day-of-month month day-of-week), not ${parts.length}`;
  for (let i = 0; i < 5; i++) {
    const f = FIELDS[i];
    for (const item of parts[i].split(',')) {
      const [range, step, extra] = item.split('/');
      if (extra !== undefined || (step !== undefined && !/^\d{1,2}$/.test(step)) || step === '0')
        return `${f.name}: bad step in '${item}'`;
      if (range === '*' || range === '?') continue;
      const [a, b, more] = range.split('-');
      const lo = value(a ?? '', f);
      const hi = b === undefined ? lo : value(b, f);
      if (more !== undefined || lo === undefined || hi === undefined)
        return `${f.name}: '${item}' is not a value, range or step`;
      if (lo < f.min || hi > f.max || lo > hi) return `${f.name}: '${item}' is outside ${f.min}-${f.max}`;
    }
  }
  return undefined;
}
