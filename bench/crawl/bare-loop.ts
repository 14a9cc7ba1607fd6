// The floor trawl is measured against: undici + htmlparser2 + a Set, fetch-and-extract only, on
// one core. `concurrency` loops share one Agent; links are resolved with URL and deduplicated.
import { Parser } from 'htmlparser2';
import { Agent, request } from 'undici';

export async function bareLoop(seed: string, concurrency: number): Promise<number> {
  const agent = new Agent({ connections: concurrency, pipelining: 1 });
  const origin = new URL(seed).origin;
  const seen = new Set<string>([seed]);
  const queue: string[] = [seed];
  let active = 0;
  let pages = 0;
  await new Promise<void>((resolve) => {
    const next = () => {
      while (active < concurrency && queue.length > 0) {
        const url = queue.pop()!;
        active++;
        void fetchOne(url).finally(() => {
          active--;
          pages++;
          if (queue.length === 0 && active === 0) resolve();
          else next();
        });
      }
    };
    const fetchOne = async (url: string) => {
      const res = await request(url, { dispatcher: agent });
      const html = await res.body.text();
      const parser = new Parser({
        onopentag(name, attrs) {
          if (name !== 'a' || !attrs.href) return;
          let u: URL;
          try {
            u = new URL(attrs.href, url);
          } catch {
            return;
          }
          u.hash = '';
          const s = u.href;
          if (u.origin === origin && !seen.has(s)) {
            seen.add(s);
            queue.push(s);
          }
        },
      });
      parser.end(html);
    };
    next();
  });
  await agent.close();
  return pages;
}
