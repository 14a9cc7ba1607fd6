// The package ships no types. Shapes per its README (prom2json-compatible output): every value is
// the exposition text's number string, unparsed.
declare module 'parse-prometheus-text-format' {
  export interface PromSample {
    value: string;
    labels?: Record<string, string>;
  }
  export interface PromHistogramSample {
    buckets: Record<string, string>;
    count: string;
    sum: string;
    labels?: Record<string, string>;
  }
  export interface PromSummarySample {
    quantiles?: Record<string, string>;
    count: string;
    sum: string;
    labels?: Record<string, string>;
  }
  export interface PromFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: (PromSample | PromHistogramSample | PromSummarySample)[];
  }
  export default function parsePrometheusTextFormat(text: string): PromFamily[];
}
