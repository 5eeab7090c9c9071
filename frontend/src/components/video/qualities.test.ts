import { describe, expect, it } from 'vitest'
import { playbackIdentity, qualityLevels } from './VideoPlayer'

describe('qualityLevels', () => {
  it('lists every rendition once by height, highest first, keeping hls.js level indexes', () => {
    expect(qualityLevels([{ height: 360 }, { height: 720 }, { height: 0 }, { height: 720 }, { height: 1080 }])).toEqual([
      { index: 4, height: 1080 },
      { index: 1, height: 720 },
      { index: 0, height: 360 },
    ])
  })
})

describe('playbackIdentity', () => {
  it('ignores the expiry and token of a re-signed URL, not the object', () => {
    const a = 'http://e.test/play/1700000000/abc_DEF-1/live/11111111-1111-1111-1111-111111111111/index.m3u8'
    const b = 'http://e.test/play/1700000060/xyz_987-2/live/11111111-1111-1111-1111-111111111111/index.m3u8'
    expect(playbackIdentity(a)).toBe(playbackIdentity(b))
    expect(playbackIdentity(a)).not.toBe(playbackIdentity(b.replace('index.m3u8', 'other.m3u8')))
  })
})
