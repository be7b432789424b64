/** Mocha root hooks: one backend for the whole run, chosen as the package chooses it. */
import { initBackend } from '../../lib/backend';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60000);
    await initBackend();
  },
};
