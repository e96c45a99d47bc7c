// Files in the chat widget, the customer's side: a visitor attaches an
// image with the paperclip and drops a PDF on the panel; both upload with
// a "Sending" state and reach the agent's console (the image previewed);
// the agent answers with a file the visitor opens from the widget. Files
// the gateway does not take (wrong type, over the limit, not what their
// name says) are shown as not sent, with the reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServerAndBrowser, shot, agentSignsIn, agentGoesAvailable, openPage, waitFor,
  visitorStartsChat, offerRings, acceptOffer,
} from './lib/harness.mjs';
import { startGateway } from './lib/gateway.mjs';

const suite = withServerAndBrowser(() => startGateway({ agents: [{ id: 'ana', name: 'Ana Lima', password: 'ana-password' }] }));

test('a visitor sends an image and a PDF, the agent answers with a file', async () => {
  const { server: gw, browser } = suite;
  const agent = await openPage(browser, { width: 1280, height: 800 });
  await agentSignsIn(agent.page, gw.url, { user: 'ana' });
  await agentGoesAvailable(agent.page);

  const customer = await openPage(browser, { width: 1100, height: 800 });
  const cp = customer.page;
  await visitorStartsChat(cp, gw.url, { name: 'Maria Svensson', text: 'My order arrived broken.' });
  await acceptOffer(await offerRings(agent.page));
  await agent.page.locator('.msg-customer .bubble', { hasText: 'broken' }).waitFor();
  await cp.locator('.status', { hasText: 'Chatting with' }).waitFor();

  // A real PNG: a picture of the agent's console, so it shows something.
  const png = await agent.page.screenshot({ clip: { x: 0, y: 0, width: 240, height: 150 } });
  const pdf = Buffer.from('%PDF-1.4\n% receipt 4471\n');

  // The paperclip offers only what the gateway takes.
  const accept = await cp.locator('.composer input[type="file"]').getAttribute('accept');
  assert.match(accept, /\.png/);
  assert.match(accept, /\.pdf/);
  assert.doesNotMatch(accept, /\.svg|\.html/);
  const [chooser] = await Promise.all([cp.waitForEvent('filechooser'), cp.getByRole('button', { name: 'Attach a file' }).click()]);
  await chooser.setFiles({ name: 'broken-box.png', mimeType: 'image/png', buffer: png });
  const img = cp.locator('.msg.customer .file.image img[alt="broken-box.png"]');
  await img.waitFor();
  await waitFor(() => img.evaluate((e) => e.complete && e.naturalWidth === 240), 'the image shows in the widget');

  // A PDF dropped on the panel.
  await cp.evaluate((bytes) => {
    const panel = document.querySelector('#switchboard-chat').shadowRoot.querySelector('.panel');
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'receipt.pdf', { type: 'application/pdf' }));
    panel.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    panel.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [...pdf]);
  const pdfLink = cp.locator('.msg.customer .file a.flink', { hasText: 'receipt.pdf' });
  await pdfLink.waitFor();
  await cp.locator('.msg.customer:not(.pending) .file a.flink', { hasText: 'receipt.pdf' }).waitFor();
  await shot(cp, 'widget-attachments-sent');

  // Refused: the wrong type and over the limit (said before uploading), and
  // a file that is not what its name says (said by the gateway). Pasted.
  const paste = (name, type, size, head) => cp.evaluate(([name, type, size, head]) => {
    const input = document.querySelector('#switchboard-chat').shadowRoot.querySelector('.composer textarea');
    const b = new Uint8Array(size);
    b.set(new TextEncoder().encode(head));
    const dt = new DataTransfer();
    dt.items.add(new File([b], name, { type }));
    input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, [name, type, size, head]);
  await paste('setup.exe', 'application/octet-stream', 100, 'MZ');
  await cp.locator('.msg.failed .meta', { hasText: 'Not sent: only images' }).waitFor();
  await paste('scan.pdf', 'application/pdf', 11 << 20, '%PDF-1.4');
  await cp.locator('.msg.failed .meta', { hasText: 'the limit is 10.0 MB' }).waitFor();
  await paste('invoice.pdf', 'application/pdf', 100, 'not a pdf at all');
  await cp.locator('.msg.failed', { hasText: 'invoice.pdf' }).locator('.meta', { hasText: 'Not sent: invoice.pdf is not the PDF file its name says.' }).waitFor();

  // The agent sees both files: the image previewed, the PDF to download.
  const preview = agent.page.locator('.msg-customer .msg-files .file-preview img[alt="broken-box.png"]');
  await preview.waitFor();
  await waitFor(() => preview.evaluate((e) => e.complete && e.naturalWidth === 240), 'the image previews in the console');
  const agentPdf = agent.page.locator('.msg-customer .msg-files a', { hasText: 'receipt.pdf' });
  await agentPdf.waitFor();
  await shot(agent.page, 'console-widget-files');
  const [agentDl] = await Promise.all([agent.page.waitForEvent('download'), agentPdf.click()]);
  const got = [];
  for await (const ch of await agentDl.createReadStream()) got.push(ch);
  assert.deepEqual(Buffer.concat(got), pdf);
  // Nothing refused reached the agent.
  assert.equal(await agent.page.locator('.msg-files', { hasText: /setup\.exe|scan\.pdf|invoice\.pdf/ }).count(), 0);

  // The agent answers with a file.
  const label = Buffer.from('%PDF-1.4\n% return label RL-8812\n');
  await agent.page.locator('#attach').setInputFiles({ name: 'return-label.pdf', mimeType: 'application/pdf', buffer: label });
  await agent.page.locator('#attach-list li', { hasText: 'return-label.pdf' }).waitFor();
  await agent.page.locator('#reply-text').fill('Sorry about that! Here is a return label.');
  await agent.page.locator('#send').click();

  const visitorLink = cp.locator('.msg.agent .file a.flink', { hasText: 'return-label.pdf' });
  await visitorLink.waitFor();
  await cp.locator('.msg.agent .bubble', { hasText: 'return label' }).waitFor();
  await shot(cp, 'widget-attachments');
  const [dl] = await Promise.all([cp.waitForEvent('download'), visitorLink.click()]);
  const chunks = [];
  for await (const ch of await dl.createReadStream()) chunks.push(ch);
  assert.deepEqual(Buffer.concat(chunks), label);
  assert.equal(dl.suggestedFilename(), 'return-label.pdf');

  // After a reload the files are still there, with working links.
  await cp.reload();
  await cp.locator('.msg.agent .file a.flink', { hasText: 'return-label.pdf' }).waitFor();
  const again = cp.locator('.msg.customer .file.image img[alt="broken-box.png"]');
  await again.waitFor();
  await waitFor(() => again.evaluate((e) => e.complete && e.naturalWidth === 240), 'the image shows after a reload');

  assert.deepEqual(customer.errors, []);
  assert.deepEqual(agent.errors, []);
});
