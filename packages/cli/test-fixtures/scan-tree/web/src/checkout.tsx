import { useFlag } from '@rollgate/sdk/react';

export function Checkout({ client }) {
  const enabled = useFlag('new-checkout');
  const banner = client.getStringValue("banner-text", 'Hello');
  if (client.isEnabled(`dark-mode`)) document.body.classList.add('dark');
  return enabled ? banner : null;
}
