/**
 * Pipes and connections (seed: billiard quick-start, the Pipe / Connection API
 * snippet): objects with send/recv, raw bytes with sendBytes/recvBytes, poll
 * with a timeout, EOFError when the other end is closed.
 *
 *   npx tsx examples/pipe-connection.ts
 */
import { EOFError, Pipe, Process, isMainProcess, type Connection } from 'billiard';

/** Echo server in the child: answers objects and bytes until the parent sends null. */
export async function echo(conn: Connection): Promise<void> {
  for (;;) {
    const msg = await conn.recv<{ op: string; data?: number[] } | null>();
    if (msg === null) break;
    if (msg.op === 'sum') conn.send({ sum: (msg.data ?? []).reduce((a, b) => a + b, 0), pid: process.pid });
    if (msg.op === 'bytes') {
      const buf = await conn.recvBytes();
      conn.sendBytes(Buffer.from(buf.toString('utf8').toUpperCase()));
    }
  }
  conn.close();
}

if (isMainProcess()) {
  const [parentConn, childConn] = Pipe(); // duplex by default
  const p = new Process({ target: echo, args: [childConn] });
  p.start();
  childConn.close(); // the child has its own copy

  parentConn.send({ op: 'sum', data: [1, 2, 3, 4] });
  console.log('recv:', await parentConn.recv());

  parentConn.send({ op: 'bytes' });
  parentConn.sendBytes(Buffer.from('hello bytes'));
  console.log('recvBytes:', (await parentConn.recvBytes()).toString());

  console.log('poll(100) with nothing sent:', await parentConn.poll(100));

  parentConn.send(null); // ask the child to stop
  await p.join();
  try {
    await parentConn.recv();
  } catch (e) {
    if (!(e instanceof EOFError)) throw e;
    console.log(`recv after the child closed its end: ${e.name}`);
  }
  parentConn.close();

  // A one-way pipe: [reader, writer].
  const [reader, writer] = Pipe(false);
  writer.send('one-way message');
  console.log('one-way:', reader.recvSync<string>());
  reader.close();
  writer.close();
}
