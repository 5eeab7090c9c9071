import { VideoPlayer } from '../video/VideoPlayer'

/** The live player: hls.js tuned for low latency, quality menu, fullscreen;
 *  the stream's thumbnail as the poster until the first frame. */
export function LivePlayer({ src, title, poster }: { src: string; title: string; poster?: string | null }) {
  return <VideoPlayer src={src} title={title} poster={poster} live />
}
