package shop;

class Billing {
  boolean invoices(Client client) {
    return client.getBooleanValue("new-invoices", false) || client.isEnabled("legacy-export");
  }
}
