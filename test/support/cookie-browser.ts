/**
 * A browser just big enough for sign-in flows without Chromium: cookies per host, redirects
 * followed by hand (a POST becomes a GET after one), and `publicUrl` (what Landfall calls itself
 * in its configuration) mapped to the address the test server really listens on.
 */

/** One page as the browser ended up on it. */
export interface BrowsedPage {
  status: number;
  url: string;
  text: string;
}

/** A cookie jar and `go`. */
export interface CookieBrowser {
  /** Cookies by host, by name. */
  jar: Map<string, Map<string, string>>;
  go(url: string, init?: { method?: string; form?: Record<string, string> }): Promise<BrowsedPage>;
}

export function cookieBrowser(publicUrl: string, web: string): CookieBrowser {
  const jar = new Map<string, Map<string, string>>();
  const local = (url: string) => url.replace(publicUrl, web);
  return {
    jar,
    async go(url, init = {}) {
      let target = local(url);
      let method = init.method ?? 'GET';
      let form = init.form;
      for (let hop = 0; hop < 10; hop++) {
        const host = new URL(target).host;
        const cookies = jar.get(host) ?? new Map<string, string>();
        const res = await fetch(target, {
          method,
          redirect: 'manual',
          headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
          ...(form ? { body: new URLSearchParams(form).toString() } : {}),
        });
        for (const line of res.headers.getSetCookie()) {
          const [pair] = line.split(';');
          const eq = pair!.indexOf('=');
          const [name, value] = [pair!.slice(0, eq), pair!.slice(eq + 1)];
          if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') cookies.delete(name);
          else cookies.set(name, value);
        }
        jar.set(host, cookies);
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
          target = local(new URL(location, target).toString());
          method = 'GET';
          form = undefined;
          continue;
        }
        return { status: res.status, url: target, text: await res.text() };
      }
      throw new Error('too many redirects');
    },
  };
}
