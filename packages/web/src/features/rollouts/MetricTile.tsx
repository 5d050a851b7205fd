import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MetricSeries } from '../../api/types.js';
import { formatNumber, formatValue } from '../../components/format.js';

type Tile = MetricSeries['metrics'][number];
type GateSeries = Tile['gates'][number];

const ROLE = { success: 'success criterion', alert: 'alert threshold', rollback: 'rollback trigger' } as const;

/** How a gate's estimate is written: "+0.9 pp", "+12%" or the value itself. */
export function estimateText(gate: Pick<GateSeries, 'condition'>, value: number, unit: string | undefined): string {
  const sign = value > 0 ? '+' : '';
  if (gate.condition.type === 'relative') return `${sign}${formatNumber(value)}%`;
  if (gate.condition.type === 'difference') return unit === 'percent' ? `${sign}${formatNumber(value)} pp` : `${sign}${formatValue(value, unit)}`;
  return formatValue(value, unit);
}

/** The verdict in one sentence with its numbers: estimate, interval, the line it is judged against. */
export function verdictSentence(tile: Pick<Tile, 'name' | 'metric' | 'unit'>, gate: GateSeries): string {
  const name = tile.name ?? tile.metric;
  if (gate.estimate === undefined) return `${name}: ${gate.summary}`;
  const interval = gate.interval ? ` (${Math.round(gate.interval.level * 100)}% CS ${estimateText(gate, gate.interval.lower, tile.unit)} to ${estimateText(gate, gate.interval.upper, tile.unit)})` : '';
  const against = gate.condition.type === 'absolute' ? '' : ' vs control';
  const line = `${gate.condition.op} ${estimateText(gate, gate.condition.value, tile.unit)}${against}`;
  const verdict = { pass: gate.role === 'success' ? 'met' : 'not breached', fail: gate.role === 'success' ? 'not met' : 'breached', inconclusive: 'not decided yet', no_data: 'no data' }[gate.verdict];
  return `${name} ${estimateText(gate, gate.estimate, tile.unit)}${interval}, ${ROLE[gate.role]} ${line}: ${verdict}.`;
}

function Chart({ data, series, label, band = false, height = 180 }: { data: uPlot.AlignedData; series: uPlot.Series[]; label: string; band?: boolean; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(320);
  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    const observer = new ResizeObserver(() => setWidth(Math.max(240, el.clientWidth)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    const el = box.current;
    // Without a 2D canvas (a text browser, a DOM emulation) the chart's label and the sentences stand alone.
    if (el === null || document.createElement('canvas').getContext('2d') === null) return undefined;
    const plot = new uPlot(
      {
        width,
        height,
        series: [{}, ...series],
        axes: [{ stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' } }, { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' }, size: 56 }],
        ...(band ? { bands: [{ series: [3, 2], fill: 'rgba(31,111,235,0.18)' }] } : {}),
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      el,
    );
    return () => plot.destroy();
  }, [data, series, width, height, band]);
  return <div ref={box} className="chart" role="img" aria-label={label} />;
}

/**
 * One metric: per gate, the estimate over the stage (as the gate is written:
 * treatment minus control, relative, or the treatment value) with its
 * always-valid band and the gate's threshold as a line, the cohorts' sample
 * sizes and the verdict in words; a second view shows raw values.
 */
export function MetricTile({ tile }: { tile: Tile }) {
  const [view, setView] = useState<'difference' | 'raw'>('difference');
  const name = tile.name ?? tile.metric;
  const worst = tile.gates.find((g) => g.verdict === 'fail') ?? tile.gates.find((g) => g.verdict !== 'pass') ?? tile.gates[0];
  const state = worst === undefined ? 'none' : worst.verdict;
  return (
    <article className={`tile tile-${state}`} aria-labelledby={`tile-${tile.metric}`}>
      <header className="tile-head">
        <h3 id={`tile-${tile.metric}`}>{name}</h3>
        <span className={`verdict verdict-${state}`}>{state === 'pass' ? 'Healthy' : state === 'fail' ? 'Failing' : state === 'inconclusive' ? 'Not decided' : state === 'no_data' ? 'No data' : 'Observed'}</span>
      </header>
      <p className="samples">
        Samples: treatment {formatNumber(tile.treatment?.samples ?? 0)} · control {formatNumber(tile.control?.samples ?? 0)}
      </p>
      {tile.gates.map((g) => (
        <p key={g.gateId} className="sentence">
          {verdictSentence(tile, g)}
        </p>
      ))}
      {tile.matrices.map((m) => (
        <p key={m.matrixId} className="sentence">
          Rollback matrix: {m.summary}
        </p>
      ))}
      <div className="tabs" role="group" aria-label={`${name} view`}>
        <button type="button" className="btn btn-small" aria-pressed={view === 'difference'} onClick={() => setView('difference')}>
          {worst?.condition.type === 'absolute' || worst === undefined ? 'Value vs target' : 'Difference vs control'}
        </button>
        <button type="button" className="btn btn-small" aria-pressed={view === 'raw'} onClick={() => setView('raw')}>
          Treatment and control
        </button>
      </div>
      {view === 'difference' && worst !== undefined && <GateChart tile={tile} gate={worst} />}
      {view === 'raw' && <RawChart tile={tile} />}
    </article>
  );
}

function GateChart({ tile, gate }: { tile: Tile; gate: GateSeries }) {
  const xs = gate.points.map((p) => p.t / 1000);
  const data: uPlot.AlignedData = [xs, gate.points.map((p) => p.estimate), gate.points.map((p) => p.lower), gate.points.map((p) => p.upper), gate.points.map(() => gate.condition.value)];
  const series: uPlot.Series[] = [
    { label: gate.condition.type === 'absolute' ? 'value' : 'difference', stroke: '#1f6feb', width: 2 },
    { label: 'lower', stroke: 'rgba(31,111,235,0.5)', dash: [4, 4] },
    { label: 'upper', stroke: 'rgba(31,111,235,0.5)', dash: [4, 4] },
    { label: 'threshold', stroke: '#d1242f', width: 1.5, dash: [8, 4] },
  ];
  return <Chart data={data} series={series} band label={`${tile.name ?? tile.metric}: ${verdictSentence(tile, gate)}`} />;
}

function RawChart({ tile }: { tile: Tile }) {
  const xs = tile.raw.map((r) => r.t / 1000);
  const line = tile.gates.find((g) => g.condition.type === 'absolute');
  const data: uPlot.AlignedData = [xs, tile.raw.map((r) => r.treatment), tile.raw.map((r) => r.control), ...(line ? [tile.raw.map(() => line.condition.value)] : [])];
  const series: uPlot.Series[] = [
    { label: 'treatment', stroke: '#bf3989', width: 1.5 },
    { label: 'control', stroke: '#57606a', width: 1.5 },
    ...(line ? [{ label: line.role === 'success' ? 'target' : 'alert line', stroke: '#d1242f', dash: [8, 4] }] : []),
  ];
  return <Chart data={data} series={series} label={`${tile.name ?? tile.metric}: treatment and control over time`} />;
}
