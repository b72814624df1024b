// Backends as the API shows them: reachability and version, one's failure as data beside the others'.
import type { BackendInfo } from '../../common/model';
import type { Backends } from '../contract';

export class BackendService {
  private readonly backends: Backends;
  constructor(o: { backends: Backends }) {
    this.backends = o.backends;
  }

  async list(): Promise<(BackendInfo & { default: boolean })[]> {
    const out: BackendInfo[] = await Promise.all(
      this.backends.all().map((d) =>
        d.info().catch((err: Error) => ({
          id: d.id,
          kind: d.kind,
          url: '',
          available: false,
          error: err.message,
        })),
      ),
    );
    return out.map((b) => ({ ...b, default: b.id === this.backends.defaultId }));
  }
}
