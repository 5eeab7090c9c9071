import { describe, expect, it } from 'vitest'
import { fitWithin } from './image'

describe('fitWithin', () => {
  it('scales a large picture down into the box keeping its aspect ratio', () => {
    expect(fitWithin(3840, 2160, 1280, 720)).toEqual({ width: 1280, height: 720 })
    expect(fitWithin(3000, 3000, 1280, 720)).toEqual({ width: 720, height: 720 })
    expect(fitWithin(1000, 4000, 1280, 720)).toEqual({ width: 180, height: 720 })
  })
  it('never enlarges a small picture, and copes with nonsense sizes', () => {
    expect(fitWithin(320, 180, 1280, 720)).toEqual({ width: 320, height: 180 })
    expect(fitWithin(0, 10, 1280, 720)).toEqual({ width: 1, height: 1 })
  })
})
