// Stream thumbnails (docs/web.md): any picture the browser can decode becomes a JPEG of at most
// 1280x720 and 1 MB, the only kind the streaming service stores (PUT /api/streams/{id}/thumbnail).

export const THUMBNAIL_MAX = { width: 1280, height: 720 }
/** The service's limit in bytes (services/streaming domain/live.py MAX_THUMBNAIL_BYTES). */
export const THUMBNAIL_MAX_BYTES = 1_000_000

/** The size that fits (w, h) inside (maxW, maxH) keeping the aspect ratio; never enlarges. Whole pixels, at least 1. */
export function fitWithin(w: number, h: number, maxW: number, maxH: number): { width: number; height: number } {
  if (w <= 0 || h <= 0) return { width: 1, height: 1 }
  const scale = Math.min(1, maxW / w, maxH / h)
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) }
}

/**
 * `picture` (PNG, JPEG, WebP, GIF...) as a JPEG Blob within THUMBNAIL_MAX and THUMBNAIL_MAX_BYTES
 * (the quality steps down until it fits). Rejects with an Error in words when the browser cannot
 * decode the file as an image.
 */
export async function toThumbnailJpeg(picture: Blob): Promise<Blob> {
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(picture)
  } catch {
    throw new Error('This file is not a picture the browser can read.')
  }
  const { width, height } = fitWithin(bitmap.width, bitmap.height, THUMBNAIL_MAX.width, THUMBNAIL_MAX.height)
  const canvas = document.createElement('canvas')
  canvas.width = width
  canvas.height = height
  const ctx = canvas.getContext('2d')
  if (!ctx) throw new Error('This browser cannot draw pictures.')
  ctx.drawImage(bitmap, 0, 0, width, height)
  bitmap.close()
  for (const quality of [0.85, 0.7, 0.5, 0.3]) {
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality))
    if (blob && blob.size <= THUMBNAIL_MAX_BYTES) return blob
  }
  throw new Error('The picture is too large even after scaling it down.')
}
