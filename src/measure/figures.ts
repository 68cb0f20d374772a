// The figures a measured run can give, with livemig's names (those of the result type).

/** In the order reports list them. */
export const figureNames = [
  "guest-visible-downtime",
  "downtime",
  "service-downtime",
  "lost-replies",
  "total-time",
  "setup-time",
  "dirty-sync-count",
  "transferred",
] as const;

export type FigureName = (typeof figureNames)[number];

export type Unit = "ms" | "count" | "bytes";

export const unitOf: Record<FigureName, Unit> = {
  "guest-visible-downtime": "ms",
  downtime: "ms",
  "service-downtime": "ms",
  "total-time": "ms",
  "setup-time": "ms",
  "lost-replies": "count",
  "dirty-sync-count": "count",
  transferred: "bytes",
};

/** The three downtimes are always reported, with the reason when they cannot be derived. */
export const headlineFigures: readonly FigureName[] = ["guest-visible-downtime", "downtime", "service-downtime"];

export type Figure =
  | { name: FigureName; value: number; how: string; notes: string[] }
  | { name: FigureName; value?: undefined; why: string };

/** What figures are read from in a result (livemig's MigrationResult has all of it). */
export interface ResultFields {
  status: string;
  "total-time": number;
  "setup-time": number;
  downtime?: number;
  "guest-visible-downtime"?: number;
  "service-downtime"?: number;
  ram: { transferred: number; "dirty-sync-count": number };
  network?: { "lost-replies": number };
  warnings?: string[];
}

/** The figures a result (a query-migrate reply or a prediction) carries. */
export function figuresOfResult(result: ResultFields, how: string): Figure[] {
  const out: Figure[] = [];
  const add = (name: FigureName, value: number | undefined) => {
    if (value !== undefined) out.push({ name, value, how, notes: [] });
  };
  add("guest-visible-downtime", result["guest-visible-downtime"]);
  add("downtime", result.downtime);
  add("service-downtime", result["service-downtime"]);
  add("total-time", result["total-time"]);
  add("setup-time", result["setup-time"]);
  add("lost-replies", result.network?.["lost-replies"]);
  add("dirty-sync-count", result.ram["dirty-sync-count"]);
  add("transferred", result.ram.transferred);
  return out;
}
