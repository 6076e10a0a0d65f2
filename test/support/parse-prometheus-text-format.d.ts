declare module 'parse-prometheus-text-format' {
  /** One metric family as the parser returns it (values as strings). */
  export interface ParsedFamily {
    name: string
    help: string
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
    metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[]
  }
  /** Parses the Prometheus text exposition format; throws on an invalid line. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[]
}
