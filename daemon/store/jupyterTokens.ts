// The Jupyter proxy's read of an env, on every proxied request: whose env it is and its token, in one query by id,
// the token opened once per sealed text (a rotated token is a new text).
import type { Kysely, Selectable } from 'kysely';
import type { SecretBox } from '../secretBox';
import { hotQuery } from './hotQuery';
import type { Database, EnvironmentsTable } from './schema';

/** An env as the Jupyter proxy sees it: its owner and its token, opened. */
export type JupyterAccess = Pick<
  Selectable<EnvironmentsTable>,
  'id' | 'name' | 'owner_id' | 'environment_type' | 'jupyter_token'
>;

const KEPT = 256;

export class JupyterTokens {
  private readonly row: (id: string) => Promise<JupyterAccess | undefined>;
  private readonly opened = new Map<string, string>();

  constructor(
    db: Kysely<Database>,
    private readonly box?: SecretBox,
  ) {
    this.row = hotQuery(
      db,
      (d, id: string) =>
        d
          .selectFrom('environments')
          .select(['id', 'name', 'owner_id', 'environment_type', 'jupyter_token'])
          .where('id', '=', id),
      [''],
    );
  }

  async access(id: string): Promise<JupyterAccess | undefined> {
    const r = await this.row(id);
    return r && { ...r, jupyter_token: r.jupyter_token && this.open(r.jupyter_token) };
  }

  private open(sealed: string): string {
    let token = this.opened.get(sealed);
    if (token === undefined) {
      token = this.box ? this.box.open(sealed) : sealed;
      if (this.opened.size >= KEPT) this.opened.delete(this.opened.keys().next().value!);
      this.opened.set(sealed, token);
    }
    return token;
  }
}
