// A stream's thumbnail image: pick any picture, see it, and get a JPEG the service accepts
// (lib/image.ts). The parent decides when to send it (on create, or at once on the broadcast page).
import { useEffect, useId, useState } from 'react'
import { toThumbnailJpeg } from '../../lib/image'

export function ThumbnailPicker({ current, onPicked, disabled = false }: { current?: string | null; onPicked: (jpeg: Blob | null) => void; disabled?: boolean }) {
  const id = useId()
  const [preview, setPreview] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview])
  const shown = preview ?? current ?? null
  return (
    <div className="thumb-picker">
      <label htmlFor={id}>Thumbnail image (optional)</label>
      <input
        id={id}
        type="file"
        accept="image/*"
        disabled={disabled}
        onChange={(e) => {
          const file = e.target.files?.[0]
          setError(null)
          if (!file) {
            setPreview(null)
            onPicked(null)
            return
          }
          toThumbnailJpeg(file).then(
            (jpeg) => {
              setPreview(URL.createObjectURL(jpeg))
              onPicked(jpeg)
            },
            (err: Error) => {
              setError(err.message)
              onPicked(null)
            },
          )
        }}
      />
      {shown ? <img className="thumb-preview" src={shown} alt="Thumbnail preview" data-testid="thumbnail-preview" /> : null}
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </div>
  )
}
