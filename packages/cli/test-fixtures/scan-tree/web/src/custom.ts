// A team wrapper the scan learns through a pattern.
export const x = feature$('promo-banner') && isEnabled('new-checkout');
