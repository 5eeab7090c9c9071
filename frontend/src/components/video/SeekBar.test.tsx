// @vitest-environment jsdom
import { act } from 'react'
import { createRoot, type Root } from 'react-dom/client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { StoryboardCue } from '../../lib/storyboard/storyboard'
import { SeekBar } from './SeekBar'

;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true

const cues: StoryboardCue[] = [
  { start: 0, end: 10, url: 'http://e/s/sprite_001.jpg', x: 0, y: 0, w: 160, h: 90 },
  { start: 10, end: 20, url: 'http://e/s/sprite_001.jpg', x: 160, y: 0, w: 160, h: 90 },
  { start: 20, end: 30, url: 'http://e/s/sprite_002.jpg', x: 0, y: 90, w: 160, h: 90 },
]

let host: HTMLDivElement
let root: Root
beforeEach(() => {
  host = document.createElement('div')
  document.body.append(host)
  root = createRoot(host)
})
afterEach(() => {
  act(() => root.unmount())
  host.remove()
})

function render(onSeek = vi.fn(), currentTime = 0) {
  act(() => root.render(<SeekBar duration={30} currentTime={currentTime} onSeek={onSeek} cues={cues} />))
  const bar = host.querySelector<HTMLDivElement>('.seek')!
  bar.getBoundingClientRect = () => ({ left: 100, width: 300, top: 0, height: 20, right: 400, bottom: 20, x: 100, y: 0, toJSON: () => ({}) })
  return { bar, input: host.querySelector<HTMLInputElement>('input[type=range]')! }
}

function pointer(el: Element, type: string, clientX: number) {
  const e = new MouseEvent(type, { bubbles: true, clientX })
  act(() => void el.dispatchEvent(e))
}

describe('SeekBar', () => {
  it('shows the storyboard tile of the time under the pointer, and hides it when the pointer leaves', () => {
    const { bar } = render()
    expect(host.querySelector('[data-testid=storyboard-preview]')).toBeNull()
    pointer(bar, 'pointermove', 100 + 150) // half way: 15 s -> second tile
    const thumb = host.querySelector<HTMLDivElement>('[data-testid=storyboard-thumb]')!
    expect(thumb.style.backgroundImage).toContain('sprite_001.jpg')
    expect(thumb.style.backgroundPosition).toBe('-160px 0px')
    expect(host.querySelector('.seek-time')!.textContent).toBe('0:15')
    pointer(bar, 'pointermove', 100 + 290) // 29 s -> third tile, other sheet
    expect(host.querySelector<HTMLDivElement>('[data-testid=storyboard-thumb]')!.style.backgroundImage).toContain('sprite_002.jpg')
    // React derives onPointerLeave from pointerout towards an element outside the bar
    act(() => void bar.dispatchEvent(new MouseEvent('pointerout', { bubbles: true, relatedTarget: document.body })))
    expect(host.querySelector('[data-testid=storyboard-preview]')).toBeNull()
  })

  it('is a labelled range input whose changes seek (keyboard seeking) and show the tile there', () => {
    const onSeek = vi.fn()
    const { input } = render(onSeek, 5)
    expect(input.getAttribute('aria-label')).toBe('Seek')
    expect(input.getAttribute('aria-valuetext')).toBe('0:05 of 0:30')
    // what the browser does for ArrowRight/End on a focused range: value changes, change event fires
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!
    act(() => {
      setValue.call(input, '22')
      input.dispatchEvent(new Event('input', { bubbles: true }))
    })
    expect(onSeek).toHaveBeenCalledWith(22)
    expect(host.querySelector<HTMLDivElement>('[data-testid=storyboard-thumb]')!.style.backgroundImage).toContain('sprite_002.jpg')
  })

  it('the change event a browser sends after input does not seek back while the player catches up', () => {
    const onSeek = vi.fn()
    const { input } = render(onSeek, 5) // the player reports its new time later (after "seeking")
    const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!
    act(() => {
      setValue.call(input, '0') // Home on a focused range: value, then input, then change
      input.dispatchEvent(new Event('input', { bubbles: true }))
    })
    act(() => void input.dispatchEvent(new Event('change', { bubbles: true })))
    expect(onSeek.mock.calls).toEqual([[0]])
    expect(input.value).toBe('0')
  })

  it('arrow keys seek 5 s either way, clamped to the video', () => {
    const onSeek = vi.fn()
    const { input } = render(onSeek, 27)
    const key = (k: string) => act(() => void input.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true })))
    key('ArrowRight')
    expect(onSeek).toHaveBeenLastCalledWith(30)
    key('ArrowLeft') // from where the last key left it, before the player reported that time
    expect(onSeek).toHaveBeenLastCalledWith(25)
    key('Enter')
    expect(onSeek).toHaveBeenCalledTimes(2)
  })

  it('still seeks without a storyboard (no tile, just the time)', () => {
    act(() => root.render(<SeekBar duration={30} currentTime={0} onSeek={() => {}} cues={[]} />))
    const bar = host.querySelector<HTMLDivElement>('.seek')!
    bar.getBoundingClientRect = () => ({ left: 0, width: 300, top: 0, height: 20, right: 300, bottom: 20, x: 0, y: 0, toJSON: () => ({}) })
    pointer(bar, 'pointermove', 150)
    expect(host.querySelector('[data-testid=storyboard-thumb]')).toBeNull()
    expect(host.querySelector('.seek-time')!.textContent).toBe('0:15')
  })
})
