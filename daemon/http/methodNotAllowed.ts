// 405 for a path the API description has, asked with a method it doesn't list (the document is the route table).
import type { RequestHandler } from 'express';
import { MethodNotAllowedError, NotFoundError } from '../errors';

interface PathItem {
  template: RegExp;
  methods: string[];
}

/** `/environments/{id}` → /^\/api\/v1\/environments\/[^/]+$/ with the methods documented for it. */
export function pathTable(paths: Record<string, object>, prefix: string): PathItem[] {
  return Object.entries(paths).map(([p, item]) => ({
    template: new RegExp(`^${prefix}${p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    methods: Object.keys(item)
      .filter((m) => m !== 'parameters')
      .map((m) => m.toUpperCase()),
  }));
}

/** The last handler: a known path with another method is a 405 naming the allowed ones; anything else a 404. */
export function unmatched(table: PathItem[]): RequestHandler {
  return (req) => {
    const item = table.find((t) => t.template.test(req.path));
    if (!item) throw new NotFoundError('endpoint', req.path);
    const allow = item.methods.includes('GET') ? [...item.methods, 'HEAD'] : item.methods;
    throw new MethodNotAllowedError(allow, req.method);
  };
}
