import { describe, expect, it } from 'vitest'
import { qualityLevels } from './VideoPlayer'

describe('qualityLevels', () => {
  it('lists every rendition once by height, highest first, keeping hls.js level indexes', () => {
    expect(qualityLevels([{ height: 360 }, { height: 720 }, { height: 0 }, { height: 720 }, { height: 1080 }])).toEqual([
      { index: 4, height: 1080 },
      { index: 1, height: 720 },
      { index: 0, height: 360 },
    ])
  })
})
