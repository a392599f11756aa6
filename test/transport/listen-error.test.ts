import t from 'tap';
import { isRojeError } from '../../src/errors.js';
import { isAddressInUse, listenError } from '../../src/transport/listen-error.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen ${code}`), { code });
}

t.test('names the transport, the address and the cause, with a hint', async (t) => {
  const err = listenError('udp', '127.0.0.1', 53, errno('EACCES'));
  t.ok(isRojeError(err, 'ROJE_ERR_LISTEN_FAILED'));
  t.equal(
    err.message,
    'cannot listen on udp 127.0.0.1:53: EACCES (permission denied; use an unprivileged port or grant CAP_NET_BIND_SERVICE)',
  );
  t.equal((err.cause as Error).message, 'listen EACCES');
  t.match(
    listenError('tcp', '::1', 5353, errno('EADDRINUSE')).message,
    /^cannot listen on tcp \[::1\]:5353: EADDRINUSE \(already in use/,
  );
  t.equal(
    listenError('tcp', '10.0.0.1', 53, errno('EWHATEVER')).message,
    'cannot listen on tcp 10.0.0.1:53: EWHATEVER',
  );
  t.equal(listenError('udp', 'x', 1, new Error('odd')).message, 'cannot listen on udp x:1: odd');
});

t.test('isAddressInUse looks at the cause', async (t) => {
  t.ok(isAddressInUse(listenError('tcp', '127.0.0.1', 1, errno('EADDRINUSE'))));
  t.notOk(isAddressInUse(listenError('tcp', '127.0.0.1', 1, errno('EACCES'))));
  t.notOk(isAddressInUse(null));
});
