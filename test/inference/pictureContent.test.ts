/**
 * A question about pictures as OpenAI chat content parts: text and pictures interleaved where the
 * question's `<image N>` placeholders put them, each picture a base64 PNG data URL.
 */
import { describe, expect, it } from 'vitest';
import { pictureContent, promptText } from '../../activities/inference/modelEndpoint';

const A = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 1]);
const B = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 2]);
const url = (bytes: Uint8Array) => `data:image/png;base64,${Buffer.from(bytes).toString('base64')}`;

describe('pictureContent', () => {
  it('puts each picture where its placeholder is, the text around it in text parts', () => {
    expect(pictureContent({ text: '<image 1><image 2>\nWhich picture has more shapes?', images: [A, B] })).toEqual([
      { type: 'image_url', image_url: { url: url(A) } },
      { type: 'image_url', image_url: { url: url(B) } },
      { type: 'text', text: '\nWhich picture has more shapes?' },
    ]);
    expect(pictureContent({ text: 'Compare <image2> with <image 1>.', images: [A, B] })).toEqual([
      { type: 'text', text: 'Compare ' },
      { type: 'image_url', image_url: { url: url(B) } },
      { type: 'text', text: ' with ' },
      { type: 'image_url', image_url: { url: url(A) } },
      { type: 'text', text: '.' },
    ]);
  });

  it('keeps a placeholder with no picture as text, and adds unplaced pictures after the text', () => {
    expect(pictureContent({ text: 'See <image 3>.', images: [A] })).toEqual([
      { type: 'text', text: 'See <image 3>.' },
      { type: 'image_url', image_url: { url: url(A) } },
    ]);
  });

  it('reads the text of either kind of prompt', () => {
    expect(promptText('plain')).toBe('plain');
    expect(promptText({ text: '<image 1> what?', images: [A] })).toBe('<image 1> what?');
  });
});
