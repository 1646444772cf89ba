import { FileBackend } from '../src/backends/file.js';
import { backendSuite } from './conformance.js';
import { tempDir } from './helpers.js';

let dir: ReturnType<typeof tempDir> | undefined;
backendSuite('file', () => new FileBackend({ path: (dir = tempDir('cuttle-file-')).path, durable: false }), {
  reopen: async (backend) => {
    await backend.close();
    return new FileBackend({ path: (backend as FileBackend).path });
  },
  teardown: () => dir?.remove(),
});
