/**
 * The multimodal data server a user's run.sh asks for its data: every route for each task, every
 * refusal with its status and message, that a full walk serves no ground truth, and a real client
 * (Python's urllib, as a run.sh would use) walking each dataset. Plain HTTP on loopback.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetItem } from '../../contracts/dataset';
import { startDataServer, type DataServer, type DataServerDataset } from '../../activities/multimodal/dataServer';

const IO = { checkpointPath: '/model/checkpoint.pth', outputDir: '/output' };
const IMAGES = '/data/images';

const vqaItems: DatasetItem[] = [
  {
    id: 'q-mc',
    prompt: '<image 1>Which shape is shown?\nChoices:\n(A) square\n(B) circle\n(C) triangle',
    ground_truth: 'B',
    choices: ['square', 'circle', 'triangle'],
    metadata: { task: 'vqa', images: ['img-0001.png'], questionType: 'multiple-choice', rationale: 'HIDDEN-RATIONALE' },
  },
  {
    id: 'q-mr',
    prompt:
      '<image 1><image 2>Which pictures show a red shape? Select all that apply.\n(A) the first\n(B) the second\n(C) neither',
    ground_truth: 'A,B',
    choices: ['the first', 'the second', 'neither'],
    metadata: { task: 'vqa', images: ['img-0002.png', 'extra/img-0003.png'], questionType: 'multiple-response' },
  },
  {
    id: 'q-fill',
    prompt: '<image 1>The counter in the picture shows ___.',
    ground_truth: '2931',
    metadata: { task: 'vqa', images: ['img-0004.png'], questionType: 'fill-in-the-blank' },
  },
  {
    id: 'q-short',
    prompt: '<image 1>Name the solid drawn here in one word.',
    ground_truth: 'dodecahedron',
    metadata: { task: 'vqa', images: ['img-0005.png'], questionType: 'short-answer' },
  },
  {
    id: 'q-yn',
    prompt: '<image 1>Is the shape red? Answer yes or no.',
    ground_truth: 'no',
    metadata: { task: 'vqa', images: ['img-0001.png'], questionType: 'yes-no' },
  },
];

// Captions 0 and 2 describe the same image; the distinct images in order of first appearance are
// r-002.png, r-001.png, sub/r-003.png.
const retrievalItems: DatasetItem[] = [
  {
    id: 'c0',
    prompt: 'a red circle on a white ground',
    ground_truth: 'r-002.png',
    metadata: { images: ['r-002.png'] },
  },
  {
    id: 'c1',
    prompt: 'a blue square',
    ground_truth: 'r-001.png',
    metadata: { task: 'retrieval', images: ['r-001.png'] },
  },
  { id: 'c2', prompt: 'one round red shape', ground_truth: 'r-002.png', metadata: { images: ['r-002.png'] } },
  { id: 'c3', prompt: 'a green triangle', ground_truth: 'sub/r-003.png', metadata: { images: ['sub/r-003.png'] } },
];

const t2iExpect = [
  { colour: 'vermilion', shape: 'heptagon' },
  { colour: 'teal', shape: 'rhombus' },
];
const t2iItems: DatasetItem[] = t2iExpect.map((expectation, i) => ({
  id: `p${i}`,
  prompt: `Draw a single ${expectation.colour} ${expectation.shape} on a plain background.`,
  ground_truth: JSON.stringify(expectation),
  metadata: { task: 't2i', expect: expectation },
}));

const DATASETS: Record<DataServerDataset['task'], DataServerDataset> = {
  vqa: { name: 'mm-vqa-shapes', task: 'vqa', items: vqaItems, imageDirInContainer: IMAGES },
  retrieval: { name: 'mm-retrieval-shapes', task: 'retrieval', items: retrievalItems, imageDirInContainer: IMAGES },
  t2i: { name: 'mm-t2i-shapes', task: 't2i', items: t2iItems, imageDirInContainer: IMAGES },
};

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

/** One request as written, path and query untouched (fetch would normalise some of the odd ones). */
function request(server: DataServer, target: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: server.host, port: server.port, path: target, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: text ? JSON.parse(text) : undefined });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const servers = {} as Record<DataServerDataset['task'], DataServer>;

beforeAll(async () => {
  for (const task of ['vqa', 'retrieval', 't2i'] as const)
    servers[task] = await startDataServer({ dataset: DATASETS[task], io: IO });
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

describe('io_info and meta_info', () => {
  it.each(['vqa', 'retrieval', 't2i'] as const)('%s: io_info answers the paths inside the container', async (task) => {
    const answer = await request(servers[task], '/io_info');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.body).toEqual({ checkpoint_path: '/model/checkpoint.pth', output_dir: '/output' });
  });

  it('vqa: the number of questions, the name and the type vqa', async () => {
    expect((await request(servers.vqa, '/meta_info')).body).toEqual({ length: 5, name: 'mm-vqa-shapes', type: 'vqa' });
  });

  it('retrieval: the numbers of distinct images and of captions', async () => {
    expect((await request(servers.retrieval, '/meta_info')).body).toEqual({
      name: 'mm-retrieval-shapes',
      image_number: 3,
      caption_number: 4,
      type: 'retrieval',
    });
  });

  it('t2i: the number of prompts', async () => {
    expect((await request(servers.t2i, '/meta_info')).body).toEqual({ length: 2, name: 'mm-t2i-shapes', type: 't2i' });
  });

  it('a trailing slash names the same route', async () => {
    expect((await request(servers.t2i, '/meta_info/')).status).toBe(200);
    expect((await request(servers.t2i, '/get_data/?index=0')).body).toEqual({ prompt: t2iItems[0]!.prompt, id: 0 });
  });
});

describe('get_data', () => {
  it('vqa: each question with its images as container paths, its id and its type', async () => {
    const got = await Promise.all(vqaItems.map((_, i) => request(servers.vqa, `/get_data?index=${i}`)));
    expect(got.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(got.map((a) => a.body)).toEqual([
      {
        img_path: ['/data/images/img-0001.png'],
        question: vqaItems[0]!.prompt,
        question_id: 'q-mc',
        type: 'multiple-choice',
      },
      {
        img_path: ['/data/images/img-0002.png', '/data/images/extra/img-0003.png'],
        question: vqaItems[1]!.prompt,
        question_id: 'q-mr',
        type: 'multiple-response',
      },
      {
        img_path: ['/data/images/img-0004.png'],
        question: vqaItems[2]!.prompt,
        question_id: 'q-fill',
        type: 'fill-in-the-blank',
      },
      {
        img_path: ['/data/images/img-0005.png'],
        question: vqaItems[3]!.prompt,
        question_id: 'q-short',
        type: 'short-answer',
      },
      { img_path: ['/data/images/img-0001.png'], question: vqaItems[4]!.prompt, question_id: 'q-yn', type: 'yes-no' },
    ]);
  });

  it('retrieval: image i is the i-th distinct file in order of first appearance; caption j is item j', async () => {
    const images = await Promise.all([0, 1, 2].map((i) => request(servers.retrieval, `/get_data?index=${i}&type=img`)));
    expect(images.map((a) => a.body)).toEqual([
      { img_path: '/data/images/r-002.png' },
      { img_path: '/data/images/r-001.png' },
      { img_path: '/data/images/sub/r-003.png' },
    ]);
    const captions = await Promise.all(
      [0, 1, 2, 3].map((j) => request(servers.retrieval, `/get_data?type=text&index=${j}`)),
    );
    expect(captions.map((a) => a.body)).toEqual(retrievalItems.map((item) => ({ caption: item.prompt })));
  });

  it('t2i: each prompt with its index as an integer id', async () => {
    const got = await Promise.all([0, 1].map((i) => request(servers.t2i, `/get_data?index=${i}`)));
    expect(got.map((a) => a.body)).toEqual([
      { prompt: t2iItems[0]!.prompt, id: 0 },
      { prompt: t2iItems[1]!.prompt, id: 1 },
    ]);
  });

  it('vqa and t2i ignore a type parameter: they have one kind of item, and the seed sends index alone', async () => {
    expect((await request(servers.vqa, '/get_data?index=2&type=img')).body.question_id).toBe('q-fill');
    expect((await request(servers.t2i, '/get_data?index=1&type=text&type=img')).body).toEqual({
      prompt: t2iItems[1]!.prompt,
      id: 1,
    });
  });

  it('leading zeros and unrelated parameters do not matter', async () => {
    expect((await request(servers.vqa, '/get_data?index=003&cache=1')).body.question_id).toBe('q-short');
  });
});

describe('refusals', () => {
  const cases: [task: DataServerDataset['task'], target: string, status: number, error: string][] = [
    ['vqa', '/get_data', 400, 'get_data needs index=N, N an integer in [0, 5)'],
    ['vqa', '/get_data?', 400, 'get_data needs index=N, N an integer in [0, 5)'],
    ['vqa', '/get_data?idx=1', 400, 'get_data needs index=N, N an integer in [0, 5)'],
    ['vqa', '/get_data?index=', 400, 'index must be a non-negative integer in [0, 5), not ""'],
    ['vqa', '/get_data?index=1.5', 400, 'index must be a non-negative integer in [0, 5), not "1.5"'],
    ['vqa', '/get_data?index=-1', 400, 'index must be a non-negative integer in [0, 5), not "-1"'],
    ['vqa', '/get_data?index=abc', 400, 'index must be a non-negative integer in [0, 5), not "abc"'],
    ['vqa', '/get_data?index=+1', 400, 'index must be a non-negative integer in [0, 5), not " 1"'],
    ['vqa', '/get_data?index=%2B1', 400, 'index must be a non-negative integer in [0, 5), not "+1"'],
    ['vqa', '/get_data?index=%201', 400, 'index must be a non-negative integer in [0, 5), not " 1"'],
    ['vqa', '/get_data?index=1e2', 400, 'index must be a non-negative integer in [0, 5), not "1e2"'],
    ['vqa', '/get_data?index=0x1', 400, 'index must be a non-negative integer in [0, 5), not "0x1"'],
    [
      'vqa',
      `/get_data?index=${'9'.repeat(60)}x`,
      400,
      `index must be a non-negative integer in [0, 5), not "${'9'.repeat(40)}…"`,
    ],
    ['vqa', '/get_data?index=1&index=2', 400, 'give index once, not 2 times'],
    ['vqa', '/get_data?index=1&index=1', 400, 'give index once, not 2 times'],
    ['vqa', '/get_data?index=5', 404, 'index 5 is out of range [0, 5): the dataset has 5 questions'],
    ['vqa', '/get_data?index=123456', 404, 'index 123456 is out of range [0, 5): the dataset has 5 questions'],
    [
      'vqa',
      `/get_data?index=${'9'.repeat(30)}`,
      404,
      `index "${'9'.repeat(30)}" is out of range [0, 5): the dataset has 5 questions`,
    ],
    ['t2i', '/get_data?index=2', 404, 'index 2 is out of range [0, 2): the dataset has 2 prompts'],
    ['t2i', '/get_data?index=x', 400, 'index must be a non-negative integer in [0, 2), not "x"'],
    [
      'retrieval',
      '/get_data?index=0',
      400,
      "a retrieval dataset's get_data needs type=img (an image, index in [0, 3)) or type=text (a caption, index in [0, 4))",
    ],
    [
      'retrieval',
      '/get_data?index=0&type=image',
      400,
      'type must be img or text, not "image": type=img (an image, index in [0, 3)) or type=text (a caption, index in [0, 4))',
    ],
    [
      'retrieval',
      '/get_data?index=0&type=',
      400,
      'type must be img or text, not "": type=img (an image, index in [0, 3)) or type=text (a caption, index in [0, 4))',
    ],
    ['retrieval', '/get_data?index=0&type=img&type=text', 400, 'give type once, not 2 times'],
    ['retrieval', '/get_data?type=img', 400, 'get_data needs index=N, N an integer in [0, 3)'],
    ['retrieval', '/get_data?type=text&index=-2', 400, 'index must be a non-negative integer in [0, 4), not "-2"'],
    ['retrieval', '/get_data?index=3&type=img', 404, 'index 3 is out of range [0, 3): the dataset has 3 images'],
    ['retrieval', '/get_data?index=4&type=text', 404, 'index 4 is out of range [0, 4): the dataset has 4 captions'],
    ['vqa', '/', 404, 'no route /; this data server answers GET /io_info, GET /meta_info and GET /get_data?index=N'],
    [
      'vqa',
      '/get_data/0',
      404,
      'no route /get_data/0; this data server answers GET /io_info, GET /meta_info and GET /get_data?index=N',
    ],
    [
      't2i',
      '/IO_INFO',
      404,
      'no route /IO_INFO; this data server answers GET /io_info, GET /meta_info and GET /get_data?index=N',
    ],
  ];

  it.each(cases)('%s %s → %i', async (task, target, status, error) => {
    const answer = await request(servers[task], target);
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(answer.body).toEqual({ error });
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'])('%s on a route is 405 naming GET', async (method) => {
    for (const route of ['/io_info', '/meta_info', '/get_data?index=0']) {
      const answer = await request(servers.vqa, route, method);
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET');
      // A HEAD answer has no body by definition.
      if (method !== 'HEAD')
        expect(answer.body).toEqual({ error: `${route.split('?')[0]} answers GET only, not ${method}` });
    }
  });

  it('a method other than GET on an unknown path is 404, like a GET', async () => {
    const answer = await request(servers.vqa, '/upload', 'POST');
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatch(/^no route \/upload;/);
  });

  it('an empty dataset answers meta_info and refuses every index', async () => {
    const server = await startDataServer({
      dataset: { name: 'empty-vqa', task: 'vqa', items: [], imageDirInContainer: IMAGES },
      io: IO,
    });
    try {
      expect((await request(server, '/meta_info')).body).toEqual({ length: 0, name: 'empty-vqa', type: 'vqa' });
      const answer = await request(server, '/get_data?index=0');
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ error: 'index 0 is out of range: the dataset has no questions' });
    } finally {
      await server.close();
    }
  });
});

describe('counting', () => {
  it('counts every request, and apart the get_data requests answered with data', async () => {
    const server = await startDataServer({ dataset: DATASETS.retrieval, io: IO });
    try {
      expect([server.requests(), server.dataRequests()]).toEqual([0, 0]);
      await request(server, '/io_info');
      await request(server, '/meta_info');
      expect([server.requests(), server.dataRequests()]).toEqual([2, 0]);
      await request(server, '/get_data?index=0'); // no type: refused
      await request(server, '/get_data?index=9&type=img'); // out of range
      await request(server, '/nowhere');
      await request(server, '/get_data?index=0&type=img', 'POST');
      expect([server.requests(), server.dataRequests()]).toEqual([6, 0]);
      await request(server, '/get_data?index=0&type=img');
      await request(server, '/get_data?index=0&type=text');
      expect([server.requests(), server.dataRequests()]).toEqual([8, 2]);
    } finally {
      await server.close();
    }
  });
});

describe('no ground truth is served', () => {
  /** Every answer of a full walk: io_info, meta_info and each item (each image and caption for retrieval). */
  async function walk(task: DataServerDataset['task']) {
    const server = servers[task];
    const meta = (await request(server, '/meta_info')).body;
    const answers = [await request(server, '/io_info'), await request(server, '/meta_info')];
    const imageAnswers: Answer[] = [];
    if (task === 'retrieval') {
      for (let i = 0; i < meta.image_number; i++)
        imageAnswers.push(await request(server, `/get_data?index=${i}&type=img`));
      for (let j = 0; j < meta.caption_number; j++)
        answers.push(await request(server, `/get_data?index=${j}&type=text`));
    } else for (let i = 0; i < meta.length; i++) answers.push(await request(server, `/get_data?index=${i}`));
    for (const answer of [...answers, ...imageAnswers]) expect(answer.status).toBe(200);
    return { texts: answers.map((a) => a.text), imageTexts: imageAnswers.map((a) => a.text) };
  }

  it('vqa: no answer, choices list or other metadata beyond what each question text holds', async () => {
    const { texts } = await walk('vqa');
    let searched = 0;
    for (const item of vqaItems) {
      // A multiple-choice letter or a yes-no word is in its own question's text, and so served.
      if (item.prompt.includes(item.ground_truth)) continue;
      searched++;
      for (const text of texts) expect(text).not.toContain(item.ground_truth);
    }
    expect(searched).toBe(3); // A,B; 2931; dodecahedron
    for (const text of texts) {
      expect(text).not.toContain('HIDDEN-RATIONALE');
      expect(text).not.toMatch(/"(ground_truth|choices|answer|metadata|rationale|questionType)"/);
    }
  });

  it('retrieval: a caption never names its image; images are served apart from captions', async () => {
    const { texts, imageTexts } = await walk('retrieval');
    // The image answers name the files (that is what they serve); nothing else does, so no answer
    // pairs a caption with its image.
    for (const item of retrievalItems) for (const text of texts) expect(text).not.toContain(item.ground_truth);
    for (const text of [...texts, ...imageTexts]) expect(text).not.toMatch(/"(ground_truth|metadata|id)"/);
  });

  it('t2i: neither the expected content nor its JSON', async () => {
    const { texts } = await walk('t2i');
    for (const item of t2iItems) {
      expect(item.prompt).not.toContain(item.ground_truth);
      for (const text of texts) expect(text).not.toContain(item.ground_truth);
    }
    for (const text of texts) expect(text).not.toMatch(/"(colour|shape|expect|ground_truth|metadata)"/);
  });
});

describe('start', () => {
  const vqa = (metadata: Record<string, unknown>): DataServerDataset => ({
    name: 'bad-vqa',
    task: 'vqa',
    items: [{ id: 'q1', prompt: '<image 1>?', ground_truth: 'yes', metadata }],
    imageDirInContainer: IMAGES,
  });

  it.each([
    [
      'a question type the model does not know',
      vqa({ images: ['a.png'], questionType: 'essay' }),
      'item "q1" (index 0) of the vqa dataset "bad-vqa" needs metadata.questionType, one of multiple-choice, multiple-response, fill-in-the-blank, short-answer, yes-no; it has "essay"',
    ],
    [
      'no image list',
      vqa({ questionType: 'yes-no' }),
      'item "q1" (index 0) of the vqa dataset "bad-vqa" needs metadata.images, a list of image file names',
    ],
    [
      'an image path leaving the image directory',
      vqa({ images: ['../secrets.png'], questionType: 'yes-no' }),
      `item "q1" (index 0) of the vqa dataset "bad-vqa": metadata.images[0] must be a file name relative to the dataset's image directory, not "../secrets.png"`,
    ],
    [
      'an absolute image path',
      vqa({ images: ['a.png', '/etc/passwd'], questionType: 'yes-no' }),
      `item "q1" (index 0) of the vqa dataset "bad-vqa": metadata.images[1] must be a file name relative to the dataset's image directory, not "/etc/passwd"`,
    ],
    [
      'an item of another task',
      vqa({ task: 't2i', images: ['a.png'], questionType: 'yes-no' }),
      'item "q1" (index 0) of the vqa dataset "bad-vqa" is marked metadata.task "t2i"',
    ],
    [
      'a caption with two images',
      {
        ...DATASETS.retrieval,
        items: [{ id: 'c', prompt: 'x', ground_truth: 'a.png', metadata: { images: ['a.png', 'b.png'] } }],
      },
      'item "c" (index 0) of the retrieval dataset "mm-retrieval-shapes" is a caption: its metadata.images names exactly one image, not 2',
    ],
    [
      'a relative image directory',
      { ...DATASETS.t2i, imageDirInContainer: 'data/images' },
      `the dataset's image directory in the container must be an absolute path, not "data/images"`,
    ],
    [
      'a task the server does not serve',
      { ...DATASETS.t2i, task: 'audio' as never },
      'the data server serves the tasks vqa, retrieval, t2i, not "audio"',
    ],
  ])('refuses %s, naming it', async (_what, dataset, message) => {
    await expect(startDataServer({ dataset, io: IO })).rejects.toThrow(message);
  });

  it('close stops answering and may be called twice', async () => {
    const server = await startDataServer({ dataset: DATASETS.t2i, io: IO });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await request(server, '/meta_info')).status).toBe(200);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    await expect(request(server, '/meta_info')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('a port in use fails the start', async () => {
    const server = await startDataServer({ dataset: DATASETS.t2i, io: IO });
    try {
      await expect(startDataServer({ dataset: DATASETS.t2i, io: IO, port: server.port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await server.close();
    }
  });
});

describe('a Python client, as a run.sh would write one', () => {
  // Only the standard library: a user's image may have nothing else. The retrieval matrix is
  // written as JSON rather than .npy for the same reason; the walk is what is under test.
  const CLIENT = `
import json, os, sys, urllib.error, urllib.request

task, ip, port = sys.argv[1], sys.argv[2], sys.argv[3]
base = "http://%s:%s" % (ip, port)

def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)

io = get("/io_info")
meta = get("/meta_info")
out = io["output_dir"]
name = meta["name"]
assert meta["type"] == task, meta
with open(os.path.join(out, "io_info.json"), "w") as f:
    json.dump(io, f)

if task == "vqa":
    answers = []
    for i in range(meta["length"]):
        d = get("/get_data?index=%d" % i)
        assert all(os.path.isabs(p) for p in d["img_path"]), d
        answers.append({"question_id": d["question_id"], "answer": "A" if d["type"] == "multiple-choice" else "x"})
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(answers, f)
    past = "/get_data?index=%d" % meta["length"]
elif task == "retrieval":
    images = [get("/get_data?index=%d&type=img" % i)["img_path"] for i in range(meta["image_number"])]
    captions = [get("/get_data?index=%d&type=text" % j)["caption"] for j in range(meta["caption_number"])]
    matrix = [[float(len(c) * (i + 1)) for c in captions] for i in range(len(images))]
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"images": images, "captions": captions, "matrix": matrix}, f)
    past = "/get_data?index=%d&type=text" % meta["caption_number"]
else:
    info = []
    for i in range(meta["length"]):
        d = get("/get_data?index=%d" % i)
        assert isinstance(d["id"], int), d
        info.append({"id": str(d["id"]), "image": "%d.png" % d["id"], "prompt": d["prompt"]})
    with open(os.path.join(out, "output_info.json"), "w") as f:
        json.dump(info, f)
    past = "/get_data?index=%d" % meta["length"]

try:
    get(past)
    sys.exit("the server answered past the end")
except urllib.error.HTTPError as e:
    print("past the end: %d %s" % (e.code, json.load(e)["error"]))
`;
  const RUN_SH = 'set -euo pipefail\ncd "$(dirname "$0")"\npython3 client.py "$1" "$2" "$3"\n';

  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mm-data-client-'));
    await writeFile(path.join(dir, 'client.py'), CLIENT);
    await writeFile(path.join(dir, 'run.sh'), RUN_SH);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `bash run.sh TASK IP PORT` against a server whose io_info names a fresh output directory. */
  async function runClient(dataset: DataServerDataset) {
    const outputDir = await mkdtemp(path.join(dir, 'out-'));
    const server = await startDataServer({ dataset, io: { checkpointPath: '/model/checkpoint.pth', outputDir } });
    try {
      const { stdout } = await promisify(execFile)(
        'bash',
        [path.join(dir, 'run.sh'), dataset.task, server.host, String(server.port)],
        { timeout: 60_000 },
      );
      const read = async (file: string) => JSON.parse(await readFile(path.join(outputDir, file), 'utf8'));
      expect(await read('io_info.json')).toEqual({ checkpoint_path: '/model/checkpoint.pth', output_dir: outputDir });
      return { stdout, read, requests: server.requests(), dataRequests: server.dataRequests() };
    } finally {
      await server.close();
    }
  }

  it('vqa: fetches every question and writes $output_dir/$name.json', async () => {
    const { stdout, read, requests, dataRequests } = await runClient(DATASETS.vqa);
    expect(await read('mm-vqa-shapes.json')).toEqual([
      { question_id: 'q-mc', answer: 'A' },
      { question_id: 'q-mr', answer: 'x' },
      { question_id: 'q-fill', answer: 'x' },
      { question_id: 'q-short', answer: 'x' },
      { question_id: 'q-yn', answer: 'x' },
    ]);
    expect(stdout).toContain('past the end: 404 index 5 is out of range [0, 5): the dataset has 5 questions');
    expect([requests, dataRequests]).toEqual([8, 5]);
  });

  it('retrieval: fetches every image and caption and writes an images × captions matrix', async () => {
    const { read, dataRequests } = await runClient(DATASETS.retrieval);
    const written = await read('mm-retrieval-shapes.json');
    expect(written.images).toEqual(['/data/images/r-002.png', '/data/images/r-001.png', '/data/images/sub/r-003.png']);
    expect(written.captions).toEqual(retrievalItems.map((item) => item.prompt));
    expect(written.matrix).toHaveLength(3);
    expect(written.matrix.every((row: number[]) => row.length === 4)).toBe(true);
    expect(dataRequests).toBe(7);
  });

  it('t2i: fetches every prompt and writes output_info.json with the integer ids as names', async () => {
    const { read, dataRequests } = await runClient(DATASETS.t2i);
    expect(await read('output_info.json')).toEqual(
      t2iItems.map((item, i) => ({ id: String(i), image: `${i}.png`, prompt: item.prompt })),
    );
    expect(dataRequests).toBe(2);
  });
});
