/** The seed 000 status light: a coloured dot and the colour in words, never colour alone. */
export function StatusLight({ health, reason }: { health: 'green' | 'yellow' | 'red'; reason?: string }) {
  const words = { green: 'Green', yellow: 'Yellow', red: 'Red' }[health];
  return (
    <span className={`light light-${health}`} title={reason}>
      <span className="light-dot" aria-hidden="true" />
      <span className="light-word">{words}</span>
    </span>
  );
}
